from hotdemo._compat import forward

# the names of the module this package replaced (hotdemo.render), imported on first use
__getattr__ = forward("hotdemo.render", "hotdemo.render.render")
