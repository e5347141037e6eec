from hotdemo._compat import forward

# the names of the module this package replaced (hotdemo.detect), imported on first use
__getattr__ = forward("hotdemo.detect", "hotdemo.detect.detector")
