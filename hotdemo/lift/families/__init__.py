"""One file per lifter family (model, its :class:`~hotdemo.lift.spec.LifterSpec`, checkpoint
matcher, official and tiny sizes); each spec is named by one line in :mod:`hotdemo.lift.registry`."""
