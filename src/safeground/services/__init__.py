"""Use cases shared by the CLI and the web app. They talk to a Store, never to SQL."""
