"""Staff accounts of the /staff workspace: roles, hashed passwords, server-side sessions."""
