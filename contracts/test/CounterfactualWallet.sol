// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice Test only: a smart wallet owned by one key, answering ERC-1271 for that key's signatures of a hash. Its
/// factory may hand it to another key (as a real wallet replays an owner change made on another chain: ERC-6492's
/// "prepare" call).
contract OwnedWallet {
    address public owner;
    address public immutable factory;

    constructor(address owner_) {
        owner = owner_;
        factory = msg.sender;
    }

    function setOwner(address owner_) external {
        require(msg.sender == factory, "only the factory");
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError failure,) = ECDSA.tryRecover(hash, signature);
        return failure == ECDSA.RecoverError.NoError && signer == owner ? bytes4(0x1626ba7e) : bytes4(0xffffffff);
    }
}

/// @notice Test only: deploys OwnedWallets with CREATE2, so a wallet's address is known (and can sign in through
/// ERC-6492) before it exists, as with smart wallets deployed on their first transaction.
contract WalletFactory {
    function deploy(address owner, bytes32 salt) external returns (address) {
        return address(new OwnedWallet{salt: salt}(owner));
    }

    /// Test only, so anyone may: a real wallet would require the current owner's signature of the change.
    function handOver(address wallet, address owner) external {
        OwnedWallet(wallet).setOwner(owner);
    }

    function addressOf(address owner, bytes32 salt) external view returns (address) {
        bytes32 code = keccak256(abi.encodePacked(type(OwnedWallet).creationCode, abi.encode(owner)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, code)))));
    }
}
