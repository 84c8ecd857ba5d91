"""The KYC surface: reviewers sign in and work through identity checks."""

from primsell.pages.kyc import case, login, queue, team  # noqa: F401
