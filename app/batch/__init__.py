"""``ssapose batch``: many videos into one output folder, resumably (``app.batch.command``), on worker processes
(``app.batch.worker``) or Ray actors (``app.batch.ray``), with the folder's manifest (``app.batch.manifest``)."""
