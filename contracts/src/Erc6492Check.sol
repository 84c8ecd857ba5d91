// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

interface IERC1271 {
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4);
}

/// @notice ERC-6492 signature check in a single eth_call; never deployed. Sign-In with Ethereum sends this contract's
/// creation code followed by the constructor arguments (signer, hash, signature) as an eth_call without a `to`; the
/// constructor returns one byte: 0x01 when the signature is valid, 0x00 when not.
///
/// A signature that ends in the ERC-6492 suffix is abi.encode(factory, factoryCalldata, innerSignature) + suffix: a
/// wallet that has no code yet (a smart wallet not deployed until its first transaction) is deployed by calling the
/// factory, inside this eth_call only (nothing is sent), and is then asked through ERC-1271 with the inner signature.
/// An already deployed wallet is asked directly; when it refuses, the wrapping's call is made as a "prepare" step
/// (a wallet brought up to date first, e.g. an owner change it has had on another chain but not yet on this one)
/// and the wallet is asked once more, as the EIP's reference validator does. Plain EOA signatures are not this
/// contract's job: the backend recovers them off chain (EIP-191).
contract Erc6492Check {
    bytes32 private constant ERC6492_SUFFIX = 0x6492649264926492649264926492649264926492649264926492649264926492;
    bytes4 private constant ERC1271_MAGIC = 0x1626ba7e;

    constructor(address signer, bytes32 hash, bytes memory signature) {
        bool valid = _valid(signer, hash, signature);
        assembly {
            mstore(0, valid)
            return(31, 1)
        }
    }

    function _valid(address signer, bytes32 hash, bytes memory signature) private returns (bool) {
        if (!_endsWithSuffix(signature)) return _accepts(signer, hash, signature);
        assembly {
            mstore(signature, sub(mload(signature), 32)) // drop the suffix, in place
        }
        (address factory, bytes memory factoryCalldata, bytes memory inner) =
            abi.decode(signature, (address, bytes, bytes));
        if (signer.code.length > 0 && _accepts(signer, hash, inner)) return true;
        // Not deployed yet: deploy it. Deployed but refusing: prepare it. Either way, then ask (again).
        (bool called,) = factory.call(factoryCalldata);
        return called && _accepts(signer, hash, inner);
    }

    /// ERC-1271: does the contract at `signer` accept `signature` for `hash`? No code, a revert or any other answer
    /// than the magic value: no.
    function _accepts(address signer, bytes32 hash, bytes memory signature) private view returns (bool) {
        if (signer.code.length == 0) return false;
        try IERC1271(signer).isValidSignature(hash, signature) returns (bytes4 answer) {
            return answer == ERC1271_MAGIC;
        } catch {
            return false;
        }
    }

    function _endsWithSuffix(bytes memory signature) private pure returns (bool) {
        if (signature.length < 32) return false;
        bytes32 tail;
        assembly {
            tail := mload(add(signature, mload(signature))) // the last 32 bytes
        }
        return tail == ERC6492_SUFFIX;
    }
}
