"""The KYC surface: reviewers sign in and work through identity checks."""

from primsell.pages.kyc import login, queue  # noqa: F401
