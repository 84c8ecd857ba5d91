"""Primsell's domain and services. The web app and the job runner both call into this package; it never imports
reflex."""
