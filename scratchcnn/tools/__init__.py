"""The tools around the network: the ``scratchcnn`` command (cli.py), the benchmark (bench.py), the
figures (plots.py, report.py) and the preparation of a user's own digit picture (digit_image.py).
Nothing on the training path imports this folder."""
