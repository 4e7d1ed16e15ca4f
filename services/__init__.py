"""The service layer: one function per use case, shared by the HTTP API and the command line."""
