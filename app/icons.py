"""The dashboard's button icons, drawn here as inline SVG (24 × 24, stroked in the button's text colour).

Panel loads a named icon (``icon="refresh"``) as a web font from a CDN (jsDelivr's Tabler Icons), which a lab's
offline network cannot reach: every page then asked another host for a style sheet and five font files. An SVG
string is drawn inline by Bokeh, with no request at all.
"""

from __future__ import annotations


def _svg(body: str) -> str:
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24" fill="none" '
            'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
            f"{body}</svg>")


#: A cube in oblique view: preview the packing in 3D.
CUBE = _svg('<path d="M12 3l8 4.5v9L12 21l-8-4.5v-9z"/><path d="M12 12l8-4.5M12 12v9M12 12L4 7.5"/>')
#: A box with an arrow leaving it: open the run.
OPEN = _svg('<path d="M12 6H6a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2v-6"/><path d="M11 13l9-9M15 4h5v5"/>')
#: A filled square: stop (cancel) a run.
STOP = _svg('<rect x="6" y="6" width="12" height="12" rx="2" fill="currentColor"/>')
#: A circular arrow: run again.
RERUN = _svg('<path d="M20 11a8 8 0 1 0-2.3 5.7"/><path d="M20 4v7h-7"/>')
#: Scattered points on axes: compare runs.
COMPARE = _svg('<path d="M4 4v16h16"/><circle cx="9" cy="14" r="1.5"/><circle cx="13" cy="9" r="1.5"/>'
               '<circle cx="17" cy="12" r="1.5"/><circle cx="16" cy="6" r="1.5"/>')
