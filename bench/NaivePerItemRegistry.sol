// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/**
 * @title NaivePerItemRegistry
 * @notice Benchmark reference only, never deployed by notary: the "obvious" registry that
 * writes one storage slot per evidence hash, so its cost grows with the number of items.
 * `make bench` compares the gas of {register} per item with one `EvidenceRegistry.anchor`
 * per batch.
 */
contract NaivePerItemRegistry {
    /// @notice When each hash was registered (block timestamp); zero if never.
    mapping(bytes32 hash => uint256 timestamp) public registeredAt;

    /// @notice Emitted when `hash` is registered.
    event Registered(bytes32 indexed hash, uint256 timestamp);

    /// @notice {register} was called with a hash that is already registered.
    error NaivePerItemRegistryAlreadyRegistered(bytes32 hash);

    /// @notice Records `hash` with the current block timestamp.
    function register(bytes32 hash) external {
        if (registeredAt[hash] != 0) revert NaivePerItemRegistryAlreadyRegistered(hash);
        registeredAt[hash] = block.timestamp;
        emit Registered(hash, block.timestamp);
    }
}
