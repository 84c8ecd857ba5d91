"""KYC: consumers submit identity checks, reviewers decide them in a queue, and one gate function (gates.py) makes
purchases, rewards and withdrawals wait for an approval."""
