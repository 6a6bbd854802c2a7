"""The live classroom dashboard (Mesa's SolaraViz); ``retailsim dashboard`` serves it."""
