"""The application: the command line and the runner that executes the jobs declared in
``assets.definitions`` (the layer above ``assets/``; ``pipeline/`` is the domain below both)."""
