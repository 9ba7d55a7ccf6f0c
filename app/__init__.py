"""The Panel dashboard of bedflow (served with ``panel serve app/main.py``).

It lays out widgets generated from :class:`pipeline.BedSpec` and calls :mod:`pipeline` and :mod:`viz`.
"""
