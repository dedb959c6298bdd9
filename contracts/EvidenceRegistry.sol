// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/**
 * @title EvidenceRegistry
 * @notice Append-only registry of Merkle roots of notarised evidence batches.
 *
 * Each batch of notarised records is committed off-chain into an OpenZeppelin
 * `StandardMerkleTree` whose leaves are
 * `keccak256(bytes.concat(keccak256(abi.encode(uint8 leafType, bytes32 evidenceSha256, bytes32 recordDigest))))`.
 * Only the 32-byte root of that tree is anchored here, so the cost of {anchor} does not depend on the
 * number of leaves. Anchored roots form a single chain: every batch names the root it extends
 * (`previousRoot`), and {anchor} fails unless the caller names the current head, so two notary
 * workers can never both extend the chain from the same head.
 *
 * A record is proven by recomputing its leaf from its values and calling {verifyInclusion} with the
 * batch root and the Merkle proof, or by checking the proof off-chain against the root carried by the
 * {BatchAnchored} event.
 *
 * Nothing can be removed or rewritten once anchored: there is no function that deletes or alters a
 * batch. The `DEFAULT_ADMIN_ROLE` only manages who holds {NOTARY_ROLE} and {KEY_ADMIN_ROLE}.
 *
 * Version 2 also records the deployment's statement-signing keys, so that a verifier can ask the
 * chain, not the bundle, which keys speak for this deployment and since when: each key is named by
 * its RFC 7638 JWK thumbprint (the 32 bytes a `kid` base64url-decodes to) with the block time and
 * number of its registration and of its retirement. A key is registered once and retired once; a
 * retired key can never be registered again, so a leaked old key cannot be brought back to life.
 */
contract EvidenceRegistry is AccessControl {
    /**
     * @dev What the registry records for an anchored root. Packed into one storage slot
     * (64 + 64 + 64 + 32 = 224 bits). A `batchId` of 0 means the root is not anchored.
     */
    struct Batch {
        uint64 batchId;
        uint64 blockNumber;
        uint64 timestamp;
        uint32 leafCount;
    }

    /**
     * @dev What the registry records for a statement-signing key. One storage slot (4 x 64 bits).
     * A `registeredBlock` of 0 means the key was never registered (no transaction runs in block 0);
     * a `retiredBlock` of 0 means it is not retired.
     */
    struct SigningKey {
        uint64 registeredAt;
        uint64 registeredBlock;
        uint64 retiredAt;
        uint64 retiredBlock;
    }

    /// @notice Role allowed to call {anchor}.
    bytes32 public constant NOTARY_ROLE = keccak256("NOTARY_ROLE");

    /// @notice Role allowed to call {registerSigningKey} and {retireSigningKey}. Its admin is
    /// `DEFAULT_ADMIN_ROLE`, so an operator can let the service's own account register its keys
    /// without giving it the power to appoint notaries.
    bytes32 public constant KEY_ADMIN_ROLE = keccak256("KEY_ADMIN_ROLE");

    /// @dev Anchored batches by root.
    mapping(bytes32 root => Batch) private _batches;

    /// @dev Root of the most recently anchored batch; zero before the first batch. The batch count is
    /// `_batches[_headRoot].batchId`, which is zero for the zero root, so it needs no storage of its own.
    bytes32 private _headRoot;

    /// @dev Statement-signing keys by RFC 7638 thumbprint. Declared after `_headRoot`, so the storage
    /// slots of version 1 (`_batches` at 1, `_headRoot` at 2) are unchanged.
    mapping(bytes32 thumbprint => SigningKey) private _signingKeys;

    /**
     * @notice Emitted when a batch root is anchored.
     * @param batchId Sequence number of the batch, starting at 1.
     * @param root Merkle root of the batch.
     * @param leafCount Number of leaves in the batch, as declared by the notary.
     * @param previousRoot Root of the batch this one extends; zero for the first batch.
     */
    event BatchAnchored(uint64 indexed batchId, bytes32 indexed root, uint32 leafCount, bytes32 previousRoot);

    /**
     * @notice Emitted when a statement-signing key is registered.
     * @param thumbprint RFC 7638 JWK thumbprint (SHA-256) of the key.
     * @param registeredAt Timestamp of the block that registered it.
     */
    event SigningKeyRegistered(bytes32 indexed thumbprint, uint64 registeredAt);

    /**
     * @notice Emitted when a statement-signing key is retired.
     * @param thumbprint RFC 7638 JWK thumbprint (SHA-256) of the key.
     * @param retiredAt Timestamp of the block that retired it.
     */
    event SigningKeyRetired(bytes32 indexed thumbprint, uint64 retiredAt);

    /// @notice The admin given to the constructor is the zero address.
    error EvidenceRegistryInvalidAdmin(address admin);

    /// @notice The notary given to the constructor is the zero address.
    error EvidenceRegistryInvalidNotary(address notary);

    /// @notice {anchor} was called with the zero root.
    error EvidenceRegistryZeroRoot();

    /// @notice {anchor} was called with a leaf count of zero.
    error EvidenceRegistryZeroLeafCount();

    /**
     * @notice {anchor} was called with a root that is already anchored.
     * @param root The root.
     * @param batchId The batch it was anchored as.
     */
    error EvidenceRegistryRootAlreadyAnchored(bytes32 root, uint64 batchId);

    /**
     * @notice {anchor} was called with an `expectedPreviousRoot` that is not the current head.
     * @param expected The head root the caller expected.
     * @param actual The current head root.
     */
    error EvidenceRegistryStaleHead(bytes32 expected, bytes32 actual);

    /// @notice {registerSigningKey} or {retireSigningKey} was called with the zero thumbprint.
    error EvidenceRegistryZeroThumbprint();

    /**
     * @notice {registerSigningKey} was called for a key that is already registered.
     * @param thumbprint The key's thumbprint.
     * @param registeredBlock The block it was registered in.
     */
    error EvidenceRegistrySigningKeyAlreadyRegistered(bytes32 thumbprint, uint64 registeredBlock);

    /**
     * @notice {registerSigningKey} or {retireSigningKey} was called for a key that is retired.
     * @param thumbprint The key's thumbprint.
     * @param retiredBlock The block it was retired in.
     */
    error EvidenceRegistrySigningKeyRetired(bytes32 thumbprint, uint64 retiredBlock);

    /**
     * @notice {retireSigningKey} was called for a key that was never registered.
     * @param thumbprint The key's thumbprint.
     */
    error EvidenceRegistrySigningKeyNotRegistered(bytes32 thumbprint);

    /**
     * @notice Sets up the roles.
     * @param admin Account given `DEFAULT_ADMIN_ROLE` (grants and revokes {NOTARY_ROLE} and
     * {KEY_ADMIN_ROLE}) and {KEY_ADMIN_ROLE}.
     * @param notary Account given {NOTARY_ROLE}.
     */
    constructor(address admin, address notary) {
        if (admin == address(0)) revert EvidenceRegistryInvalidAdmin(admin);
        if (notary == address(0)) revert EvidenceRegistryInvalidNotary(notary);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(KEY_ADMIN_ROLE, admin);
        _grantRole(NOTARY_ROLE, notary);
    }

    /**
     * @notice The version of this contract's interface and storage: "2" (version 1 had no signing keys
     * and no `version()`; calling it there reverts).
     * @return The version string.
     */
    function version() external pure returns (string memory) {
        return "2";
    }

    /**
     * @notice Anchors the Merkle root of a batch as the new head of the chain.
     * @dev Checks, in this order: `root` is not zero, `leafCount` is not zero, `root` is not already
     * anchored, and `expectedPreviousRoot` is the current head root (zero before the first batch).
     * Records the batch id, `block.number`, `block.timestamp` and `leafCount` for `root`, makes `root`
     * the head and emits {BatchAnchored}. Costs the same whatever `leafCount` is.
     * @param root Merkle root of the batch.
     * @param leafCount Number of leaves in the batch.
     * @param expectedPreviousRoot The head root the caller built on; see {head}.
     * @return batchId Sequence number given to the batch, starting at 1.
     */
    function anchor(
        bytes32 root,
        uint32 leafCount,
        bytes32 expectedPreviousRoot
    ) external onlyRole(NOTARY_ROLE) returns (uint64 batchId) {
        if (root == bytes32(0)) revert EvidenceRegistryZeroRoot();
        if (leafCount == 0) revert EvidenceRegistryZeroLeafCount();
        uint64 existing = _batches[root].batchId;
        if (existing != 0) revert EvidenceRegistryRootAlreadyAnchored(root, existing);
        bytes32 previousRoot = _headRoot;
        if (expectedPreviousRoot != previousRoot) revert EvidenceRegistryStaleHead(expectedPreviousRoot, previousRoot);

        // Cannot overflow: 2^64 - 1 batches would take longer than the chain will exist. Block numbers
        // and timestamps fit in 64 bits for hundreds of billions of years.
        unchecked {
            batchId = _batches[previousRoot].batchId + 1;
        }
        _batches[root] = Batch({
            batchId: batchId,
            blockNumber: uint64(block.number),
            timestamp: uint64(block.timestamp),
            leafCount: leafCount
        });
        _headRoot = root;
        emit BatchAnchored(batchId, root, leafCount, previousRoot);
    }

    /**
     * @notice Registers a statement-signing key from now on.
     * @dev Records `block.timestamp` and `block.number` for `thumbprint` and emits
     * {SigningKeyRegistered}. Fails for the zero thumbprint, a registered key, or a retired one.
     * @param thumbprint RFC 7638 JWK thumbprint (SHA-256) of the key: the 32 bytes its `kid` encodes.
     */
    function registerSigningKey(bytes32 thumbprint) external onlyRole(KEY_ADMIN_ROLE) {
        if (thumbprint == bytes32(0)) revert EvidenceRegistryZeroThumbprint();
        SigningKey storage key = _signingKeys[thumbprint];
        if (key.retiredBlock != 0) revert EvidenceRegistrySigningKeyRetired(thumbprint, key.retiredBlock);
        if (key.registeredBlock != 0) {
            revert EvidenceRegistrySigningKeyAlreadyRegistered(thumbprint, key.registeredBlock);
        }
        key.registeredAt = uint64(block.timestamp);
        key.registeredBlock = uint64(block.number);
        emit SigningKeyRegistered(thumbprint, uint64(block.timestamp));
    }

    /**
     * @notice Retires a registered statement-signing key from now on, for good.
     * @dev Records `block.timestamp` and `block.number` as its retirement and emits {SigningKeyRetired}.
     * Statements the key signed before stay attributable to the deployment; anything it signs later
     * must not be accepted. Fails for the zero thumbprint, an unknown key, or a retired one.
     * @param thumbprint RFC 7638 JWK thumbprint (SHA-256) of the key.
     */
    function retireSigningKey(bytes32 thumbprint) external onlyRole(KEY_ADMIN_ROLE) {
        if (thumbprint == bytes32(0)) revert EvidenceRegistryZeroThumbprint();
        SigningKey storage key = _signingKeys[thumbprint];
        if (key.registeredBlock == 0) revert EvidenceRegistrySigningKeyNotRegistered(thumbprint);
        if (key.retiredBlock != 0) revert EvidenceRegistrySigningKeyRetired(thumbprint, key.retiredBlock);
        key.retiredAt = uint64(block.timestamp);
        key.retiredBlock = uint64(block.number);
        emit SigningKeyRetired(thumbprint, uint64(block.timestamp));
    }

    /**
     * @notice What is recorded for the statement-signing key `thumbprint`.
     * @param thumbprint RFC 7638 JWK thumbprint (SHA-256) of a key.
     * @return registeredAt Timestamp of the block that registered it, or 0 if never registered.
     * @return registeredBlock That block's number, or 0.
     * @return retiredAt Timestamp of the block that retired it, or 0 if not retired.
     * @return retiredBlock That block's number, or 0.
     */
    function signingKeyOf(
        bytes32 thumbprint
    ) external view returns (uint64 registeredAt, uint64 registeredBlock, uint64 retiredAt, uint64 retiredBlock) {
        SigningKey storage key = _signingKeys[thumbprint];
        return (key.registeredAt, key.registeredBlock, key.retiredAt, key.retiredBlock);
    }

    /**
     * @notice What is recorded for `root`.
     * @param root A Merkle root.
     * @return batchId Sequence number of the batch (from 1), or 0 if `root` is not anchored.
     * @return blockNumber Block in which it was anchored, or 0.
     * @return timestamp Timestamp of that block (seconds since the Unix epoch), or 0.
     * @return leafCount Number of leaves declared by the notary, or 0.
     */
    function batchOf(
        bytes32 root
    ) external view returns (uint64 batchId, uint64 blockNumber, uint64 timestamp, uint32 leafCount) {
        Batch storage batch = _batches[root];
        return (batch.batchId, batch.blockNumber, batch.timestamp, batch.leafCount);
    }

    /**
     * @notice Whether `root` has been anchored.
     * @param root A Merkle root.
     * @return True if `root` has been anchored.
     */
    function isAnchored(bytes32 root) external view returns (bool) {
        return _batches[root].batchId != 0;
    }

    /**
     * @notice The head of the chain of batches.
     * @return root Root of the most recently anchored batch, or zero if none; pass it as
     * `expectedPreviousRoot` to {anchor}.
     * @return batchCount Number of anchored batches, which is also the batch id of `root`.
     */
    function head() external view returns (bytes32 root, uint64 batchCount) {
        root = _headRoot;
        batchCount = _batches[root].batchId;
    }

    /**
     * @notice Whether `leaf` is included in the anchored batch with root `root`.
     * @dev True iff `root` is anchored and `proof` (sibling hashes from the leaf upwards, combined with
     * OpenZeppelin's sorted-pair keccak256 as in `StandardMerkleTree`) leads from `leaf` to `root`.
     * The contract cannot tell a leaf from an inner node: a verifier must compute `leaf` itself from the
     * record's values, `keccak256(bytes.concat(keccak256(abi.encode(values))))`, and not accept a leaf
     * hash it was handed.
     * @param root Merkle root of the batch.
     * @param proof Merkle proof of `leaf` in the batch.
     * @param leaf The leaf hash.
     * @return True if `root` is anchored and `proof` proves `leaf` in it.
     */
    function verifyInclusion(bytes32 root, bytes32[] calldata proof, bytes32 leaf) external view returns (bool) {
        return _batches[root].batchId != 0 && MerkleProof.verifyCalldata(proof, root, leaf);
    }
}
