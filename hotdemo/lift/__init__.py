from hotdemo._compat import forward

# the names of the module this package replaced (hotdemo.lift), imported on first use
__getattr__ = forward("hotdemo.lift", "hotdemo.lift.lifter")
