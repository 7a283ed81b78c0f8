"""The digest function: once a minute, one e-mail per flood-control window that held matches back."""
