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
 * batch. The `DEFAULT_ADMIN_ROLE` only manages who holds {NOTARY_ROLE}.
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

    /// @notice Role allowed to call {anchor}.
    bytes32 public constant NOTARY_ROLE = keccak256("NOTARY_ROLE");

    /// @dev Anchored batches by root.
    mapping(bytes32 root => Batch) private _batches;

    /// @dev Root of the most recently anchored batch; zero before the first batch. The batch count is
    /// `_batches[_headRoot].batchId`, which is zero for the zero root, so it needs no storage of its own.
    bytes32 private _headRoot;

    /**
     * @notice Emitted when a batch root is anchored.
     * @param batchId Sequence number of the batch, starting at 1.
     * @param root Merkle root of the batch.
     * @param leafCount Number of leaves in the batch, as declared by the notary.
     * @param previousRoot Root of the batch this one extends; zero for the first batch.
     */
    event BatchAnchored(uint64 indexed batchId, bytes32 indexed root, uint32 leafCount, bytes32 previousRoot);

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

    /**
     * @notice Sets up the roles.
     * @param admin Account given `DEFAULT_ADMIN_ROLE` (grants and revokes {NOTARY_ROLE}).
     * @param notary Account given {NOTARY_ROLE}.
     */
    constructor(address admin, address notary) {
        if (admin == address(0)) revert EvidenceRegistryInvalidAdmin(admin);
        if (notary == address(0)) revert EvidenceRegistryInvalidNotary(notary);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(NOTARY_ROLE, notary);
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
