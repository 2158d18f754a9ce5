"""The Qt half of the app: the main window, its live and evaluation tabs, their worker threads,
the ``--show`` viewer and frame display. Everything here imports PyQt5; nothing outside ``app/qt``
does, so that ``ssapose video`` runs without Qt."""
