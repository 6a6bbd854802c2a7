"""The classroom game: teams run Amazon, Walmart and Kroger in one shared market (``retailsim classroom``)."""
