// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestToken
/// @notice Test-only ERC-20 with an open mint, used to fund RewardVault in tests.
contract TestToken is ERC20 {
    /// @notice Deploys the token with no supply.
    constructor() ERC20("Test Token", "TEST") {}

    /// @notice Mints `amount` tokens to `to`; anyone may call it (tests only).
    /// @param to Receiver.
    /// @param amount Amount in base units.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
