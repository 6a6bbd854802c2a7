"""The live classroom dashboard (a Solara page over the market model); ``retailsim dashboard`` serves it."""
