"""Solidity sources, the compile script and the committed artifacts of Primsell's contracts.

Python code uses `contracts.artifacts.load_artifact` (ABI + bytecode) and `contracts.errors`
(revert decoding); the Solidity side is described in contracts/README.md.
"""
