// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC721A} from "erc721a/contracts/ERC721A.sol";

/// @title ERC721AReference
/// @notice Test-only reference: plain ERC721A, measured by bench/gas.py to show why PrimsellCollection
///         does not use it (cheap batches, expensive first transfers). Anyone can mint.
contract ERC721AReference is ERC721A {
    /// @notice Deploys the reference collection.
    constructor() ERC721A("Reference", "REF") {}

    /// @notice Mints `quantity` tokens to `to` in one ERC721A batch.
    /// @param to Receiver of every token.
    /// @param quantity Number of tokens.
    function mintTo(address to, uint256 quantity) external {
        _mint(to, quantity);
    }

    /// @notice Mints `quantity` tokens to `to` as batches of at most `chunk` tokens, so an ownership
    ///         lookup scans at most `chunk - 1` slots (the "initialize every K tokens" variant).
    /// @param to Receiver of every token.
    /// @param quantity Number of tokens.
    /// @param chunk Largest batch per ownership slot.
    function mintChunked(address to, uint256 quantity, uint256 chunk) external {
        while (quantity > 0) {
            uint256 n = quantity < chunk ? quantity : chunk;
            _mint(to, n);
            quantity -= n;
        }
    }

    /// @notice Mints one token to each of `recipients`.
    /// @param recipients Receivers, one token each.
    function airdrop(address[] calldata recipients) external {
        for (uint256 i = 0; i < recipients.length; ++i) {
            _mint(recipients[i], 1);
        }
    }

    /// @dev Token ids start at 1, like PrimsellCollection.
    function _startTokenId() internal pure override returns (uint256) {
        return 1;
    }
}
