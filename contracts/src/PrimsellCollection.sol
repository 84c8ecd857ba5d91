// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC4906} from "@openzeppelin/contracts/interfaces/IERC4906.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {ERC721Utils} from "@openzeppelin/contracts/token/ERC721/utils/ERC721Utils.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @title PrimsellCollection
/// @notice One brand campaign: an ERC-721 collection with ERC-2981 royalties, a hard supply cap,
///         role-gated minting (MINTER_ROLE, held by the platform) and an admin pause.
/// @dev Token ids are sequential and start at 1; there is no burn, so `totalSupply() == totalMinted()`.
///
///      Ownership storage (why it is not OpenZeppelin ERC721 or ERC721A: see contracts/README.md):
///      - `_ownerships[id]`: the explicit owner of a token (plus an "approval set" flag). Written by
///        single mints, by approvals and by every transfer.
///      - A batch mint (`mintTo` with quantity > 1, `airdrop` to 4+ wallets) writes no per-token slot.
///        It marks its first id as a batch head in the `_batchHeads` bitmap and stores one record in
///        `_batches[head]`: the owner, or for an airdrop the address of an immutable SSTORE2 data
///        contract holding the 20-byte recipient list. `ownerOf` of a token without an explicit owner
///        finds its head with one bitmap read.
///      - `_holders[account]` packs the balance with the account's 4 most recent mint ranges; older
///        ranges spill into the per-account bitmap `_olderMints`. A transfer of a never-moved token is
///        proven from `from`'s own mint record (the balance slot it reads anyway, or one bitmap word),
///        never with the head lookup, so its cost does not depend on the token's place in a batch.
contract PrimsellCollection is IERC721Metadata, IERC4906, IERC721Errors, AccessControl, ERC2981 {
    using Strings for uint256;

    /// @notice Role allowed to mint (the platform's minting key).
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");
    /// @notice Most tokens one `mintTo` or `airdrop` call may create (bounds the ownership lookup and
    ///         keeps an airdrop's recipient list under the 24 KiB code-size limit).
    uint256 public constant MAX_BATCH_SIZE = 1000;

    /// @dev Airdrops to fewer wallets write per-token owners: below 4 the data contract costs more
    ///      than the slots it saves (measurements in contracts/README.md).
    uint256 private constant _LIST_MIN_RECIPIENTS = 4;
    /// @dev `_ownerships` bit 160: an approval may be set in `_tokenApprovals` (saves a cold read per transfer).
    uint256 private constant _APPROVAL_FLAG = 1 << 160;
    /// @dev `_batches` bit 160: the record is an SSTORE2 recipient list, not an owner.
    uint256 private constant _LIST_FLAG = 1 << 160;
    /// @dev `_holders` layout: bits 0..31 balance, then 4 ranges of 48 bits (32-bit first id, 16-bit count),
    ///      newest at bits 32..79. Balances and ids fit 32 bits because `maxSupply <= type(uint32).max`.
    uint256 private constant _BALANCE_MASK = 0xffffffff;
    uint256 private constant _RANGE_BITS = 48;
    uint256 private constant _RANGE_MASK = (1 << 48) - 1;
    uint256 private constant _RANGES_MASK = (1 << 192) - 1;
    uint256 private constant _RANGE_COUNT_MAX = 0xffff;
    /// @dev Size of the SSTORE2 creation prefix (see `_writeRecipientList`).
    uint256 private constant _LIST_PREFIX_BYTES = 14;
    /// @dev keccak256("Transfer(address,address,uint256)"), emitted in assembly by the mint loops.
    bytes32 private constant _TRANSFER_EVENT_SIGNATURE =
        0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef;
    /// @dev ERC-4906 interface id (its interface declares only events, so `type(...).interfaceId` is 0).
    bytes4 private constant _ERC4906_INTERFACE_ID = 0x49064906;

    uint256 private immutable _maxSupply;

    string private _name;
    string private _symbol;
    string private _baseTokenURI;

    /// @dev Packed in one slot: a transfer reads `_paused` and, for lazy tokens, the id bound together.
    uint64 private _nextTokenId;
    bool private _paused;

    mapping(uint256 tokenId => uint256 packed) private _ownerships;
    mapping(address account => uint256 packed) private _holders;
    mapping(uint256 tokenId => address approved) private _tokenApprovals;
    mapping(address owner => mapping(address operator => bool)) private _operatorApprovals;
    mapping(uint256 word => uint256 bits) private _batchHeads;
    mapping(uint256 head => uint256 record) private _batches;
    mapping(address account => mapping(uint256 word => uint256 bits)) private _olderMints;

    /// @notice Minting would exceed the max supply.
    /// @param requested Tokens asked for.
    /// @param remaining Tokens still mintable.
    error CollectionSoldOut(uint256 requested, uint256 remaining);
    /// @notice The collection is paused: no mint and no transfer.
    error CollectionPaused();
    /// @notice `unpause` was called while not paused.
    error CollectionNotPaused();
    /// @notice A mint asked for zero tokens.
    error CollectionZeroQuantity();
    /// @notice A mint asked for more than `MAX_BATCH_SIZE` tokens.
    /// @param requested Tokens asked for.
    /// @param limit `MAX_BATCH_SIZE`.
    error CollectionBatchTooLarge(uint256 requested, uint256 limit);
    /// @notice The constructor's max supply is 0 or above `type(uint32).max`.
    /// @param maxSupply The rejected value.
    error CollectionInvalidMaxSupply(uint256 maxSupply);
    /// @notice The constructor got the zero address for the admin or the minter.
    error CollectionZeroAddress();
    /// @notice Deploying an airdrop's recipient list failed.
    error CollectionRecipientListFailed();

    /// @notice The default ERC-2981 royalty changed (also emitted by the constructor).
    /// @param receiver Who receives royalties.
    /// @param feeBasisPoints Royalty in basis points of the sale price (out of 10,000).
    event DefaultRoyaltyUpdated(address indexed receiver, uint96 feeBasisPoints);
    /// @notice The base URI changed (also emitted by the constructor); token URIs are `baseURI + id`.
    /// @param baseURI The new base URI.
    event BaseURIUpdated(string baseURI);
    /// @notice The collection was paused by `account`.
    /// @param account The admin who paused.
    event Paused(address account);
    /// @notice The collection was unpaused by `account`.
    /// @param account The admin who unpaused.
    event Unpaused(address account);

    /// @notice Creates the collection.
    /// @param name_ ERC-721 name.
    /// @param symbol_ ERC-721 symbol.
    /// @param maxSupply_ Hard cap on tokens ever minted, 1..2^32-1.
    /// @param admin Receives DEFAULT_ADMIN_ROLE (royalty, base URI, pause, roles).
    /// @param minter Receives MINTER_ROLE.
    /// @param royaltyReceiver Default ERC-2981 receiver.
    /// @param royaltyBasisPoints Default royalty, 0..10,000.
    /// @param baseURI_ Initial base URI (may be empty).
    constructor(
        string memory name_,
        string memory symbol_,
        uint256 maxSupply_,
        address admin,
        address minter,
        address royaltyReceiver,
        uint96 royaltyBasisPoints,
        string memory baseURI_
    ) {
        if (maxSupply_ == 0 || maxSupply_ > type(uint32).max) revert CollectionInvalidMaxSupply(maxSupply_);
        if (admin == address(0) || minter == address(0)) revert CollectionZeroAddress();
        _name = name_;
        _symbol = symbol_;
        _maxSupply = maxSupply_;
        _nextTokenId = 1;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, minter);
        _setDefaultRoyalty(royaltyReceiver, royaltyBasisPoints);
        emit DefaultRoyaltyUpdated(royaltyReceiver, royaltyBasisPoints);
        _baseTokenURI = baseURI_;
        emit BaseURIUpdated(baseURI_);
    }

    // ---------------------------------------------------------------- minting

    /// @notice Mints `quantity` consecutive tokens to `to` (no onERC721Received call, like `_mint`).
    /// @dev One ownership record for the whole batch: about 2.9k gas per token for 100 tokens.
    /// @param to Receiver of every token.
    /// @param quantity Number of tokens, 1..MAX_BATCH_SIZE.
    /// @return firstTokenId The first id minted; the batch is `firstTokenId .. firstTokenId + quantity - 1`.
    function mintTo(address to, uint256 quantity) external onlyRole(MINTER_ROLE) returns (uint256 firstTokenId) {
        if (to == address(0)) revert ERC721InvalidReceiver(address(0));
        firstTokenId = _reserve(quantity);
        _recordMint(to, firstTokenId, quantity);
        if (quantity == 1) {
            _ownerships[firstTokenId] = uint160(to);
        } else {
            _markBatchHead(firstTokenId);
            _batches[firstTokenId] = uint160(to);
        }
        _emitMints(to, firstTokenId, quantity);
    }

    /// @notice Mints one token to each of `recipients`, in order (no onERC721Received call).
    /// @dev From 4 recipients the owners are stored as one SSTORE2 list instead of one slot each.
    ///      A repeated address simply receives several tokens.
    /// @param recipients Receivers, 1..MAX_BATCH_SIZE of them, none the zero address.
    /// @return firstTokenId Id of the token minted to `recipients[0]`; `recipients[i]` gets `firstTokenId + i`.
    function airdrop(address[] calldata recipients) external onlyRole(MINTER_ROLE) returns (uint256 firstTokenId) {
        uint256 count = recipients.length;
        firstTokenId = _reserve(count);
        if (count < _LIST_MIN_RECIPIENTS) {
            for (uint256 i = 0; i < count; ++i) {
                address to = recipients[i];
                if (to == address(0)) revert ERC721InvalidReceiver(address(0));
                uint256 tokenId = firstTokenId + i;
                _ownerships[tokenId] = uint160(to);
                _recordMint(to, tokenId, 1);
                _emitMints(to, tokenId, 1);
            }
        } else {
            address list = _writeRecipientList(recipients, firstTokenId);
            _markBatchHead(firstTokenId);
            _batches[firstTokenId] = uint160(list) | _LIST_FLAG;
        }
    }

    // ---------------------------------------------------------------- admin

    /// @notice Sets the default ERC-2981 royalty for every token.
    /// @param receiver Who receives royalties (not the zero address).
    /// @param feeBasisPoints Royalty in basis points, 0..10,000.
    function setDefaultRoyalty(address receiver, uint96 feeBasisPoints) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setDefaultRoyalty(receiver, feeBasisPoints);
        emit DefaultRoyaltyUpdated(receiver, feeBasisPoints);
    }

    /// @notice Sets the base URI; `tokenURI(id)` becomes `baseURI + id` (empty base: empty URI).
    /// @dev Also emits ERC-4906 `BatchMetadataUpdate` over all ids so marketplaces refresh.
    /// @param baseURI_ The new base URI, usually ending in "/".
    function setBaseURI(string calldata baseURI_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _baseTokenURI = baseURI_;
        emit BaseURIUpdated(baseURI_);
        emit BatchMetadataUpdate(1, type(uint256).max);
    }

    /// @notice Pauses minting and transfers (approvals stay possible).
    function pause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_paused) revert CollectionPaused();
        _paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Lifts a pause.
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (!_paused) revert CollectionNotPaused();
        _paused = false;
        emit Unpaused(msg.sender);
    }

    // ---------------------------------------------------------------- ERC-721

    /// @notice Moves `tokenId` from `from` to `to` without a receiver check.
    /// @param from Current owner.
    /// @param to New owner (not the zero address).
    /// @param tokenId Token to move.
    function transferFrom(address from, address to, uint256 tokenId) public {
        if (to == address(0)) revert ERC721InvalidReceiver(address(0));
        if (_paused) revert CollectionPaused();
        uint256 packed = _ownerships[tokenId];
        address owner;
        if (packed != 0) {
            owner = address(uint160(packed));
        } else {
            if (!_exists(tokenId)) revert ERC721NonexistentToken(tokenId);
            // Never moved since its mint: if it was minted to `from`, `from` still owns it.
            owner = _wasMintedTo(from, tokenId) ? from : _batchOwnerOf(tokenId);
        }
        if (owner != from) revert ERC721IncorrectOwner(from, tokenId, owner);
        if (msg.sender != from && !_operatorApprovals[from][msg.sender]) {
            if (packed & _APPROVAL_FLAG == 0 || _tokenApprovals[tokenId] != msg.sender) {
                revert ERC721InsufficientApproval(msg.sender, tokenId);
            }
        }
        if (packed & _APPROVAL_FLAG != 0) delete _tokenApprovals[tokenId];
        // `from` owns `tokenId`, so its balance (low 32 bits) is at least 1 and the decrement cannot
        // borrow from the range bits; `to` holds at most maxSupply - 1 < 2^32 - 1 other tokens, so the
        // increment cannot carry into them.
        unchecked {
            uint256 fromData = _holders[from] - 1;
            // An account left with no token has no never-moved token either, so its mint ranges are
            // dead: clearing the slot earns the storage refund a plain balance would (wallets that
            // bought one token and sell it are the common case).
            _holders[from] = fromData & _BALANCE_MASK == 0 ? 0 : fromData;
            ++_holders[to];
        }
        _ownerships[tokenId] = uint160(to);
        emit Transfer(from, to, tokenId);
    }

    /// @notice Moves `tokenId` like `transferFrom`, then requires a contract `to` to accept it.
    /// @param from Current owner.
    /// @param to New owner.
    /// @param tokenId Token to move.
    function safeTransferFrom(address from, address to, uint256 tokenId) external {
        safeTransferFrom(from, to, tokenId, "");
    }

    /// @notice Moves `tokenId` like `transferFrom`, then calls `onERC721Received(data)` on a contract `to`.
    /// @param from Current owner.
    /// @param to New owner.
    /// @param tokenId Token to move.
    /// @param data Passed to the receiver.
    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) public {
        transferFrom(from, to, tokenId);
        ERC721Utils.checkOnERC721Received(msg.sender, from, to, tokenId, data);
    }

    /// @notice Lets `to` transfer `tokenId` (the zero address clears the approval).
    /// @param to Approved address.
    /// @param tokenId Token.
    function approve(address to, uint256 tokenId) external {
        address owner = ownerOf(tokenId);
        if (msg.sender != owner && !_operatorApprovals[owner][msg.sender]) revert ERC721InvalidApprover(msg.sender);
        _tokenApprovals[tokenId] = to;
        // Materializes the owner so the next transfer knows, from the slot it reads anyway,
        // whether `_tokenApprovals` must be checked and cleared.
        _ownerships[tokenId] = uint160(owner) | (to == address(0) ? 0 : _APPROVAL_FLAG);
        emit Approval(owner, to, tokenId);
    }

    /// @notice Lets or stops `operator` transferring all of the caller's tokens.
    /// @param operator Operator address (not the zero address).
    /// @param approved True to approve, false to revoke.
    function setApprovalForAll(address operator, bool approved) external {
        if (operator == address(0)) revert ERC721InvalidOperator(address(0));
        _operatorApprovals[msg.sender][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    /// @notice The owner of `tokenId`; reverts with `ERC721NonexistentToken` for an unminted id.
    /// @param tokenId Token.
    /// @return owner Current owner.
    function ownerOf(uint256 tokenId) public view returns (address owner) {
        uint256 packed = _ownerships[tokenId];
        if (packed != 0) return address(uint160(packed));
        if (!_exists(tokenId)) revert ERC721NonexistentToken(tokenId);
        return _batchOwnerOf(tokenId);
    }

    /// @notice Number of tokens `owner` holds.
    /// @param owner Holder (not the zero address).
    /// @return The balance.
    function balanceOf(address owner) external view returns (uint256) {
        if (owner == address(0)) revert ERC721InvalidOwner(address(0));
        return _holders[owner] & _BALANCE_MASK;
    }

    /// @notice The address approved for `tokenId`, or zero.
    /// @param tokenId Token (must exist).
    /// @return Approved address.
    function getApproved(uint256 tokenId) external view returns (address) {
        if (!_exists(tokenId)) revert ERC721NonexistentToken(tokenId);
        return _tokenApprovals[tokenId];
    }

    /// @notice Whether `operator` may transfer all of `owner`'s tokens.
    /// @param owner Holder.
    /// @param operator Operator.
    /// @return True if approved.
    function isApprovedForAll(address owner, address operator) external view returns (bool) {
        return _operatorApprovals[owner][operator];
    }

    /// @notice Collection name.
    /// @return The name.
    function name() external view returns (string memory) {
        return _name;
    }

    /// @notice Collection symbol.
    /// @return The symbol.
    function symbol() external view returns (string memory) {
        return _symbol;
    }

    /// @notice Metadata URI of `tokenId`: `baseURI + decimal id`, or "" while no base URI is set.
    /// @param tokenId Token (must exist).
    /// @return The URI.
    function tokenURI(uint256 tokenId) external view returns (string memory) {
        if (!_exists(tokenId)) revert ERC721NonexistentToken(tokenId);
        string memory base = _baseTokenURI;
        return bytes(base).length == 0 ? "" : string.concat(base, tokenId.toString());
    }

    /// @notice The current base URI.
    /// @return The base URI.
    function baseURI() external view returns (string memory) {
        return _baseTokenURI;
    }

    // ---------------------------------------------------------------- supply

    /// @notice Hard cap on tokens ever minted.
    /// @return The max supply.
    function maxSupply() external view returns (uint256) {
        return _maxSupply;
    }

    /// @notice Tokens minted so far (ids 1..totalMinted()).
    /// @return The count.
    function totalMinted() public view returns (uint256) {
        // `_nextTokenId` starts at 1 and only grows.
        unchecked {
            return _nextTokenId - 1;
        }
    }

    /// @notice Tokens in existence; equals `totalMinted()` because tokens cannot be burned.
    /// @return The count.
    function totalSupply() external view returns (uint256) {
        return totalMinted();
    }

    /// @notice Whether minting and transfers are paused.
    /// @return True when paused.
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @notice ERC-165: ERC-721, ERC-721 Metadata, ERC-2981, ERC-4906, AccessControl.
    /// @param interfaceId Interface id.
    /// @return True if supported.
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(AccessControl, ERC2981, IERC165)
        returns (bool)
    {
        return interfaceId == type(IERC721).interfaceId || interfaceId == type(IERC721Metadata).interfaceId
            || interfaceId == _ERC4906_INTERFACE_ID || super.supportsInterface(interfaceId);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Checks a mint of `quantity` and advances the id counter; returns the first id.
    function _reserve(uint256 quantity) private returns (uint256 first) {
        if (quantity == 0) revert CollectionZeroQuantity();
        if (quantity > MAX_BATCH_SIZE) revert CollectionBatchTooLarge(quantity, MAX_BATCH_SIZE);
        if (_paused) revert CollectionPaused();
        first = _nextTokenId;
        // `first` never exceeds maxSupply + 1 (enforced below), so this cannot underflow.
        uint256 remaining;
        unchecked {
            remaining = _maxSupply + 1 - first;
        }
        if (quantity > remaining) revert CollectionSoldOut(quantity, remaining);
        // first + quantity <= maxSupply + 1 <= 2^32: fits uint64.
        _nextTokenId = uint64(first + quantity);
    }

    /// @dev Adds `quantity` to `to`'s balance and records the mint range `first .. first + quantity - 1`,
    ///      extending the newest range when the new one continues it. When all 4 ranges are in use the
    ///      oldest one moves to `_olderMints` (one extra write, only for wallets minted to 5+ times).
    function _recordMint(address to, uint256 first, uint256 quantity) private {
        uint256 data = _holders[to];
        uint256 newest = (data >> 32) & _RANGE_MASK;
        uint256 newestStart = newest & 0xffffffff;
        uint256 newestCount = newest >> 32;
        // Ids and counts are below 2^32 and quantity <= MAX_BATCH_SIZE, so none of these sums overflow;
        // the count is only extended while it stays within its 16 bits, and the balance (low 32 bits)
        // stays <= maxSupply < 2^32 so adding `quantity` cannot carry into the ranges.
        unchecked {
            if (newestCount != 0 && newestStart + newestCount == first && newestCount + quantity <= _RANGE_COUNT_MAX) {
                data += quantity << 64;
            } else {
                uint256 oldest = (data >> (32 + 3 * _RANGE_BITS)) & _RANGE_MASK;
                if (oldest != 0) _spillRange(to, oldest & 0xffffffff, oldest >> 32);
                uint256 ranges = ((data >> 32) << _RANGE_BITS) & _RANGES_MASK; // drops the oldest range
                data = (data & _BALANCE_MASK) | ((ranges | first | (quantity << 32)) << 32);
            }
            data += quantity;
        }
        _holders[to] = data;
    }

    /// @dev Sets the bits of ids `first .. first + count - 1` in `account`'s `_olderMints` bitmap.
    function _spillRange(address account, uint256 first, uint256 count) private {
        // first + count <= maxSupply + 1 <= 2^32 and count >= 1: no overflow or underflow.
        unchecked {
            uint256 last = first + count - 1;
            for (uint256 word = first >> 8; word <= last >> 8; ++word) {
                uint256 low = word == first >> 8 ? first & 0xff : 0;
                uint256 high = word == last >> 8 ? last & 0xff : 0xff;
                _olderMints[account][word] |= (type(uint256).max >> (255 - high)) & (type(uint256).max << low);
            }
        }
    }

    /// @dev Whether `tokenId` was minted to `account` (recent ranges first, then the spilled bitmap).
    ///      Only meaningful for a token that was never transferred (`_ownerships[tokenId] == 0`).
    function _wasMintedTo(address account, uint256 tokenId) private view returns (bool) {
        // `tokenId - start` wraps to a huge number when tokenId < start, failing the `< count` test.
        unchecked {
            for (uint256 ranges = _holders[account] >> 32; ranges != 0; ranges >>= _RANGE_BITS) {
                if (tokenId - (ranges & 0xffffffff) < ((ranges >> 32) & _RANGE_COUNT_MAX)) return true;
            }
        }
        return (_olderMints[account][tokenId >> 8] >> (tokenId & 0xff)) & 1 == 1;
    }

    /// @dev True for minted ids (1 .. totalMinted()); nothing is ever burned.
    function _exists(uint256 tokenId) private view returns (bool) {
        return tokenId != 0 && tokenId < _nextTokenId;
    }

    function _markBatchHead(uint256 tokenId) private {
        _batchHeads[tokenId >> 8] |= 1 << (tokenId & 0xff);
    }

    /// @dev Owner of an existing token without an explicit owner: the record of the last batch head
    ///      at or below it. Every multi-token batch marks its head, and every token outside such a
    ///      batch has an explicit owner, so the head found is the token's own batch.
    function _batchOwnerOf(uint256 tokenId) private view returns (address) {
        uint256 word = tokenId >> 8;
        uint256 bits = _batchHeads[word] & (type(uint256).max >> (255 - (tokenId & 0xff)));
        // A batch spans at most MAX_BATCH_SIZE ids, so this reads at most 5 words; the checked
        // decrement would revert rather than wrap if the invariant above were ever broken.
        while (bits == 0) {
            bits = _batchHeads[--word];
        }
        uint256 head = (word << 8) | Math.log2(bits);
        uint256 record = _batches[head];
        if (record & _LIST_FLAG == 0) return address(uint160(record));
        // head <= tokenId, found at or below it.
        unchecked {
            return _readRecipient(address(uint160(record)), tokenId - head);
        }
    }

    /// @dev Records the airdrop mints and deploys the recipient list as the code of a data contract
    ///      (SSTORE2): 200 gas per stored byte instead of ~22,100 per owner slot. The code is a STOP
    ///      byte followed by the 20-byte recipients, so the contract cannot be called into.
    function _writeRecipientList(address[] calldata recipients, uint256 firstTokenId) private returns (address list) {
        uint256 count = recipients.length;
        // count <= MAX_BATCH_SIZE, so these sizes are small.
        uint256 dataLength;
        uint256 codeStart;
        unchecked {
            dataLength = 1 + 20 * count;
        }
        assembly ("memory-safe") {
            codeStart := mload(0x40)
            // Reserve the prefix + data, plus 32 bytes for the last address's full-word store.
            mstore(0x40, add(codeStart, and(add(add(_LIST_PREFIX_BYTES, dataLength), 63), not(31))))
            // Creation code: PUSH4 dataLength, DUP1, PUSH1 14, PUSH1 0, CODECOPY, PUSH1 0, RETURN;
            // then the runtime code it returns: a STOP byte (byte 14, zeroed by this same store),
            // then the recipients written below.
            mstore(codeStart, or(shl(248, 0x63), or(shl(216, dataLength), shl(144, 0x80600e6000396000f3))))
        }
        for (uint256 i = 0; i < count; ++i) {
            address to = recipients[i];
            if (to == address(0)) revert ERC721InvalidReceiver(address(0));
            // firstTokenId + i <= maxSupply < 2^32; offsets are below 20,100.
            unchecked {
                uint256 tokenId = firstTokenId + i;
                uint256 slot = codeStart + _LIST_PREFIX_BYTES + 1 + 20 * i;
                assembly ("memory-safe") {
                    mstore(slot, shl(96, to))
                }
                _recordMint(to, tokenId, 1);
                _emitMints(to, tokenId, 1);
            }
        }
        assembly ("memory-safe") {
            list := create(0, codeStart, add(_LIST_PREFIX_BYTES, dataLength))
        }
        if (list == address(0)) revert CollectionRecipientListFailed();
    }

    /// @dev The `index`-th address of a recipient list written by `_writeRecipientList`.
    function _readRecipient(address list, uint256 index) private view returns (address recipient) {
        assembly ("memory-safe") {
            // Scratch space: 20 bytes copied to 0x00, the rest of the word is masked off by the shift.
            extcodecopy(list, 0x00, add(1, mul(20, index)), 20)
            recipient := shr(96, mload(0x00))
        }
    }

    /// @dev Emits `Transfer(0, to, id)` for ids `first .. first + quantity - 1`.
    function _emitMints(address to, uint256 first, uint256 quantity) private {
        assembly ("memory-safe") {
            let end := add(first, quantity)
            for { let id := first } lt(id, end) { id := add(id, 1) } {
                log4(0, 0, _TRANSFER_EVENT_SIGNATURE, 0, to, id)
            }
        }
    }
}
