// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RewardVault} from "../src/RewardVault.sol";

/// @title ReentrantClaimer
/// @notice Test-only attacker: when the vault pays it ETH, its `receive` calls `claim` again before the
///         first call has finished. The re-entry must fail (the attacker keeps only its own allocation,
///         once); the revert data of the failed re-entry is kept for the test to decode.
contract ReentrantClaimer {
    /// @notice The vault under attack.
    RewardVault public immutable vault;
    /// @notice Re-entry attempts made from `receive`.
    uint256 public reentryAttempts;
    /// @notice True if a re-entrant `claim` ever succeeded (must stay false).
    bool public reentrySucceeded;
    /// @notice Revert data of the last failed re-entry.
    bytes public lastReentryError;

    /// @notice Targets `vault_`.
    /// @param vault_ The vault to attack.
    constructor(RewardVault vault_) {
        vault = vault_;
    }

    /// @notice Starts the attack: claims the ETH allocated to this contract.
    function attack() external {
        vault.claim(address(0));
    }

    /// @notice On the first payment, re-enters `claim` once and swallows the failure so the outer claim can finish.
    receive() external payable {
        if (reentryAttempts == 0) {
            reentryAttempts = 1;
            try vault.claim(address(0)) {
                reentrySucceeded = true;
            } catch (bytes memory reason) {
                lastReentryError = reason;
            }
        }
    }
}
