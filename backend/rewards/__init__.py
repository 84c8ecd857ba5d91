"""Rewards of a campaign: definitions (perks, payouts), perk redemption by QR code or wallet proof."""
