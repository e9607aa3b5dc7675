"""The app's routes, one module per part of the API; each module has a ``router`` the app includes."""
