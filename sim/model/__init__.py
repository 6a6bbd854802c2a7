"""The model core: geography, households, the weekly choice kernel, memberships, the Mesa model."""
