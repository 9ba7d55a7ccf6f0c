"""The dashboard's pages. Each is a class built from an :class:`app.session.AppSession` with a
``panel()`` method returning its layout: ``define`` (describe a bed, submit), ``runs`` (the table,
live), ``run`` (one run in detail), ``compare`` (runs or a sweep side by side), ``tokens`` (the
signed-in user's API tokens)."""
