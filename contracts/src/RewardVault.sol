// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title RewardVault
/// @notice Holds a brand's reward budget in ETH and/or ERC-20 tokens. The platform allocates amounts to
///         holders; each holder claims (pull) or the platform pays them out (push). `token == address(0)`
///         means ETH everywhere.
/// @dev Accounting per token: `outstanding` is allocated but not yet paid; what the vault holds beyond
///      it is unallocated and is the only thing `allocate` and `withdrawUnallocated` can touch, so an
///      allocation is always backed. Every state-changing entry point is `nonReentrant`, and every payment
///      happens after the state it depends on has been cleared (checks-effects-interactions).
contract RewardVault is AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to allocate and push payouts (the platform's key).
    bytes32 public constant PLATFORM_ROLE = keccak256("PLATFORM_ROLE");
    /// @notice The `token` value that means ETH.
    address public constant ETH = address(0);

    mapping(address token => uint256 amount) private _outstanding;
    mapping(address token => mapping(address holder => uint256 amount)) private _allocations;

    /// @notice `holders` and `amounts` have different lengths, or are empty.
    /// @param holders Length of holders.
    /// @param amounts Length of amounts.
    error VaultInvalidBatch(uint256 holders, uint256 amounts);
    /// @notice An allocation names the zero address as holder.
    error VaultZeroHolder();
    /// @notice An allocation or funding of zero.
    error VaultZeroAmount();
    /// @notice The allocation exceeds what the vault holds beyond earlier allocations.
    /// @param token Token (zero for ETH).
    /// @param requested Total asked for.
    /// @param available Unallocated balance.
    error VaultInsufficientUnallocated(address token, uint256 requested, uint256 available);
    /// @notice The holder has nothing allocated in `token`.
    /// @param token Token (zero for ETH).
    /// @param holder Holder.
    error VaultNothingToClaim(address token, address holder);
    /// @notice Sending ETH to `to` failed.
    /// @param to Receiver.
    /// @param amount Amount in wei.
    error VaultEthTransferFailed(address to, uint256 amount);
    /// @notice `fundToken` was called with the ETH marker; send ETH with `fundEth` instead.
    error VaultNotAToken();
    /// @notice The constructor or a withdrawal got the zero address.
    error VaultZeroAddress();

    /// @notice The vault received `amount` of `token` from `funder`.
    /// @param token Token (zero for ETH).
    /// @param funder Sender.
    /// @param amount Amount actually received.
    event RewardFunded(address indexed token, address indexed funder, uint256 amount);
    /// @notice `amount` of `token` was allocated to `holder` (added to anything unclaimed).
    /// @param token Token (zero for ETH).
    /// @param holder Holder.
    /// @param amount Amount added.
    event RewardAllocated(address indexed token, address indexed holder, uint256 amount);
    /// @notice `holder` claimed `amount` of `token`.
    /// @param token Token (zero for ETH).
    /// @param holder Holder, who also received the payment.
    /// @param amount Amount paid.
    event RewardClaimed(address indexed token, address indexed holder, uint256 amount);
    /// @notice The platform paid `holder`'s allocation of `token` out to them.
    /// @param token Token (zero for ETH).
    /// @param holder Holder, who received the payment.
    /// @param amount Amount paid.
    /// @param operator Platform account that pushed it.
    event RewardPaidOut(address indexed token, address indexed holder, uint256 amount, address operator);
    /// @notice The admin took back `amount` of unallocated `token`.
    /// @param token Token (zero for ETH).
    /// @param to Receiver.
    /// @param amount Amount withdrawn.
    event RewardWithdrawn(address indexed token, address indexed to, uint256 amount);

    /// @notice Creates the vault.
    /// @param admin Receives DEFAULT_ADMIN_ROLE (roles, withdrawing unallocated funds).
    /// @param platform Receives PLATFORM_ROLE (allocate, pay out).
    constructor(address admin, address platform) {
        if (admin == address(0) || platform == address(0)) revert VaultZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PLATFORM_ROLE, platform);
    }

    /// @notice Plain ETH sent to the vault funds it.
    receive() external payable {
        if (msg.value == 0) revert VaultZeroAmount();
        emit RewardFunded(ETH, msg.sender, msg.value);
    }

    /// @notice Funds the vault with the ETH sent.
    function fundEth() external payable {
        if (msg.value == 0) revert VaultZeroAmount();
        emit RewardFunded(ETH, msg.sender, msg.value);
    }

    /// @notice Pulls `amount` of `token` from the caller (approve the vault first).
    /// @dev Credits what actually arrived, so a fee-on-transfer token cannot over-fund the books.
    /// @param token ERC-20 token (not the zero address).
    /// @param amount Amount to pull.
    function fundToken(address token, uint256 amount) external nonReentrant {
        if (token == ETH) revert VaultNotAToken();
        if (amount == 0) revert VaultZeroAmount();
        uint256 before = IERC20(token).balanceOf(address(this));
        IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = IERC20(token).balanceOf(address(this)) - before;
        emit RewardFunded(token, msg.sender, received);
    }

    /// @notice Allocates `amounts[i]` of `token` to `holders[i]`; the total must fit in the unallocated balance.
    /// @param token Token (zero for ETH).
    /// @param holders Holders; a repeated holder gets the sum.
    /// @param amounts Amounts, each above zero.
    function allocate(address token, address[] calldata holders, uint256[] calldata amounts)
        external
        onlyRole(PLATFORM_ROLE)
        nonReentrant
    {
        uint256 count = holders.length;
        if (count == 0 || count != amounts.length) revert VaultInvalidBatch(count, amounts.length);
        uint256 total;
        for (uint256 i = 0; i < count; ++i) {
            if (holders[i] == address(0)) revert VaultZeroHolder();
            if (amounts[i] == 0) revert VaultZeroAmount();
            total += amounts[i];
        }
        uint256 available = unallocated(token);
        if (total > available) revert VaultInsufficientUnallocated(token, total, available);

        _outstanding[token] += total;
        for (uint256 i = 0; i < count; ++i) {
            // Each amount is part of `total`, which fits in the vault's balance, and so does every sum of them.
            unchecked {
                _allocations[token][holders[i]] += amounts[i];
            }
            emit RewardAllocated(token, holders[i], amounts[i]);
        }
    }

    /// @notice Pays the caller everything allocated to them in `token`.
    /// @param token Token (zero for ETH).
    /// @return amount Amount paid.
    function claim(address token) external nonReentrant returns (uint256 amount) {
        amount = _settle(token, msg.sender);
        emit RewardClaimed(token, msg.sender, amount);
        _pay(token, msg.sender, amount);
    }

    /// @notice Pushes `holder`'s allocation of `token` to them (for holders who never claim).
    /// @param token Token (zero for ETH).
    /// @param holder Holder to pay.
    /// @return amount Amount paid.
    function payout(address token, address holder) external onlyRole(PLATFORM_ROLE) nonReentrant returns (uint256 amount) {
        amount = _settle(token, holder);
        emit RewardPaidOut(token, holder, amount, msg.sender);
        _pay(token, holder, amount);
    }

    /// @notice Sends unallocated `token` back to `to` (e.g. the brand after the campaign).
    /// @param token Token (zero for ETH).
    /// @param to Receiver.
    /// @param amount Amount, at most `unallocated(token)`.
    function withdrawUnallocated(address token, address to, uint256 amount)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        nonReentrant
    {
        if (to == address(0)) revert VaultZeroAddress();
        if (amount == 0) revert VaultZeroAmount();
        uint256 available = unallocated(token);
        if (amount > available) revert VaultInsufficientUnallocated(token, amount, available);
        emit RewardWithdrawn(token, to, amount);
        _pay(token, to, amount);
    }

    /// @notice What `holder` can claim in `token`.
    /// @param token Token (zero for ETH).
    /// @param holder Holder.
    /// @return Amount allocated and not yet paid.
    function allocationOf(address token, address holder) external view returns (uint256) {
        return _allocations[token][holder];
    }

    /// @notice Total allocated and not yet paid in `token`.
    /// @param token Token (zero for ETH).
    /// @return The outstanding amount.
    function outstanding(address token) external view returns (uint256) {
        return _outstanding[token];
    }

    /// @notice What the vault holds in `token` beyond outstanding allocations.
    /// @param token Token (zero for ETH).
    /// @return The amount `allocate` can still hand out.
    function unallocated(address token) public view returns (uint256) {
        uint256 held = token == ETH ? address(this).balance : IERC20(token).balanceOf(address(this));
        // Only reachable through a token that shrinks balances on its own (rebasing): nothing is free.
        uint256 owed = _outstanding[token];
        return held > owed ? held - owed : 0;
    }

    /// @dev Clears `holder`'s allocation of `token` before any payment and returns it.
    function _settle(address token, address holder) private returns (uint256 amount) {
        amount = _allocations[token][holder];
        if (amount == 0) revert VaultNothingToClaim(token, holder);
        _allocations[token][holder] = 0;
        // `amount` is part of `_outstanding[token]`, which was increased by at least as much in `allocate`.
        unchecked {
            _outstanding[token] -= amount;
        }
    }

    function _pay(address token, address to, uint256 amount) private {
        if (token == ETH) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert VaultEthTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }
}
