// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title BaselineERC721
/// @notice Test-only gas baseline: a plain OpenZeppelin ERC721 minted with `_mint`, one storage write
///         pair per token. bench/gas.py compares PrimsellCollection against it. Anyone can mint.
contract BaselineERC721 is ERC721 {
    uint256 private _nextTokenId = 1;

    /// @notice Deploys the baseline; ids start at 1 like PrimsellCollection.
    constructor() ERC721("Baseline", "BASE") {}

    /// @notice Mints one token to `to`.
    /// @param to Receiver of the token.
    /// @return tokenId The id minted.
    function mintOne(address to) external returns (uint256 tokenId) {
        tokenId = _nextTokenId++;
        _mint(to, tokenId);
    }

    /// @notice Mints one token to each of `recipients`.
    /// @param recipients Receivers, one token each.
    function mintMany(address[] calldata recipients) external {
        uint256 tokenId = _nextTokenId;
        for (uint256 i = 0; i < recipients.length; ++i) {
            _mint(recipients[i], tokenId++);
        }
        _nextTokenId = tokenId;
    }

    /// @notice Mints `quantity` tokens to `to` with a loop of `_mint`.
    /// @param to Receiver of every token.
    /// @param quantity Number of tokens.
    function mintSame(address to, uint256 quantity) external {
        uint256 tokenId = _nextTokenId;
        for (uint256 i = 0; i < quantity; ++i) {
            _mint(to, tokenId++);
        }
        _nextTokenId = tokenId;
    }

    /// @notice Number of tokens minted so far.
    /// @return The count.
    function totalMinted() external view returns (uint256) {
        return _nextTokenId - 1;
    }
}
