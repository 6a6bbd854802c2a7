"""The one thing pyproject.toml cannot say: ship the top-level data folders inside the package.

``scenarios/`` and ``calibration/`` stay where users edit them (and where ``retailsim calibrate``
rewrites ``calibrated.yaml``); the wheel installs them as ``sim/shipped/scenarios/`` and
``sim/shipped/calibration/``, side by side, so their relative links (``../calibration/...``,
``extends: baseline.yaml``, a sweep's ``base:``) still resolve. An editable install maps the two
data packages back onto the checkout's folders. The file list is in pyproject.toml's package-data.
"""

from setuptools import find_namespace_packages, setup

SHIPPED = {"sim.shipped.scenarios": "scenarios", "sim.shipped.calibration": "calibration"}

setup(packages=find_namespace_packages(include=["sim*"]) + list(SHIPPED), package_dir=SHIPPED)
