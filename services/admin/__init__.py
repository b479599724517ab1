"""Administering the platform as a whole (the admin pages and `manage.py`): backup and restore of everything it
keeps. The rightmost area: it may use every other one."""
