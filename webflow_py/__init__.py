"""webflow: Python-trained models in the browser. The runtime: format, op set, executor, backends."""

__version__ = "0.1.0"
