"""Source formats, one module each. Every frontend returns a webflow Graph whose constants are numpy arrays."""
