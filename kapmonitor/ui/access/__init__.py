"""Users and access: login, lock screen, permissions and the users window."""
