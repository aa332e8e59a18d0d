"""The app's colours and the look shared by every page's widgets; no imports, so a chart or a
widget takes its colours from here without pulling in the rest of the UI."""

PRIMARY = "#1f6f8b"  # the header, the buttons, the charts' ended time
OPEN_COLOR = "#d97706"  # what open sessions add, on the charts
# A select's menu stays inside the screen on a phone: at most 95% of its width, and long option
# labels (a module's name, a slug no catalog names) wrap, even inside a word.
MENU_IN_SCREEN = "popup-content-style='max-width:95vw;overflow-wrap:anywhere'"
