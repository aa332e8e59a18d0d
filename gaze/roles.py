"""The dashboard's roles (gaze.auth), in a module of their own: the command line's parser names them
without loading the user store (and SQLAlchemy) for every command."""

ADMIN, VIEWER = "admin", "viewer"
ROLES = (ADMIN, VIEWER)
