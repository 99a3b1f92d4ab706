# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The snapshot is trusted only at the generation it was saved for, in its own namespace and boot."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import nft_backend as backend_module
from ansible_collections.xenfleet.network.plugins.module_utils.common import nft_snapshot
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.nft_backend import NftBackend

from antispoof_testing import fixture_text, spec


@pytest.fixture
def namespace(monkeypatch):
    """A fixed namespace identity and a kernel generation the test moves on by hand."""
    kernel = {'generation': 40}
    monkeypatch.setattr(nft_snapshot, 'namespace_identity', lambda: 'boot-1/4097')
    monkeypatch.setattr(backend_module, 'ruleset_generation', lambda: kernel['generation'])
    return kernel


class CountingNft:
    """run_command answering `nft -j list table` from the fixtures; counts listings and records scripts."""

    def __init__(self):
        self.listings = 0
        self.scripts = []

    def __call__(self, argv, data=None, binary_data=False):
        if argv[1:3] == ['-j', 'list']:
            self.listings += 1
            if argv[3] == 'table':
                return 0, fixture_text('nft-%s.json' % argv[4]), ''
            return 0, json.dumps({'nftables': []}), ''
        if argv[1:3] == ['list', 'table']:
            return 0, 'table %s xenfleet_antispoof {\n}\n' % argv[3], ''
        self.scripts.append(data)
        return 0, '', ''


def test_a_snapshot_is_found_only_at_its_generation_and_namespace(tmp_path, namespace):
    store = nft_snapshot.SnapshotStore(str(tmp_path), 'owner')
    store.save(41, {'bridge': None})
    assert store.load(41) == {'bridge': None}
    assert store.load(40) is None and store.load(42) is None and store.load(None) is None
    other = nft_snapshot.SnapshotStore(str(tmp_path), 'owner')
    other.identity = 'boot-2/4097'  # the same cookie after a reboot
    assert other.load(41) is None


def test_a_damaged_snapshot_is_ignored(tmp_path, namespace):
    store = nft_snapshot.SnapshotStore(str(tmp_path), 'owner')
    store.save(41, {'bridge': None})
    with open(store._path(), 'w') as stream:  # pylint: disable=protected-access
        stream.write('{"format": 1, "namespace": "boot-1/4097", "generat')
    assert store.load(41) is None


def test_saving_removes_the_snapshots_of_namespaces_that_are_gone(tmp_path, namespace, monkeypatch):
    store = nft_snapshot.SnapshotStore(str(tmp_path), 'owner')
    for name in ('owner-1.json', 'owner-2.json', 'other-1.json', 'owner-notes.txt'):
        (tmp_path / name).write_text('{}')
    monkeypatch.setattr(nft_snapshot, 'live_namespace_inodes', lambda: {2, store.inode})
    store.save(41, {'bridge': None})
    kept = ['owner-2.json', 'other-1.json', 'owner-notes.txt', 'owner-%d.json' % store.inode]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(kept)


def test_the_live_namespaces_include_this_one():
    assert nft_snapshot.SnapshotStore('/nonexistent', 'owner').inode in nft_snapshot.live_namespace_inodes()


def test_without_a_namespace_identity_nothing_is_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(nft_snapshot, 'namespace_identity', lambda: None)
    store = nft_snapshot.SnapshotStore(str(tmp_path), 'owner')
    store.save(41, {'bridge': None})
    assert store.load(41) is None and list(tmp_path.iterdir()) == []


def converge(kernel, cache_dir, vifs=None):
    """One module run against CountingNft: read, plan, apply, remember; returns (backend, fake, change)."""
    fake = CountingNft()
    backend = NftBackend(fake, cache_dir=cache_dir).read()
    change = backend.plan_present(spec(vifs))
    if change:
        change.apply()
        kernel['generation'] += 1
    backend.remember(applied=bool(change))
    return backend, fake, change


def test_the_second_run_reads_the_snapshot_and_a_foreign_transaction_forces_a_listing(tmp_path, namespace):
    first, fake, change = converge(namespace, str(tmp_path))
    assert first.source() == 'listing' and fake.listings == 2 and not change
    second, fake, change = converge(namespace, str(tmp_path))
    assert second.source() == 'snapshot' and fake.listings == 0 and not change
    namespace['generation'] += 1  # someone else's transaction
    third, fake, change = converge(namespace, str(tmp_path))
    assert third.source() == 'listing' and fake.listings == 2


def test_after_our_transaction_the_snapshot_holds_what_it_left(tmp_path, namespace):
    converge(namespace, str(tmp_path))
    extra = [dict(name='vif9.0', mac=['02:00:c0:00:02:99'], ipv4=['192.0.2.99'])]
    _backend, fake, change = converge(namespace, str(tmp_path), extra)
    assert change.summary == 'update nftables sets (+14 -0 elements; vifs vif9.0)' and fake.listings == 0
    again, fake, change = converge(namespace, str(tmp_path), extra)
    assert again.source() == 'snapshot' and not change and fake.listings == 0
    assert 'vif9.0' in again.counters(['vif9.0'])[0]  # counters are read from the kernel, never from the snapshot
    assert fake.listings > 0


def test_a_structural_change_reads_the_tables_in_full_first(tmp_path, namespace):
    converge(namespace, str(tmp_path))
    _backend, fake, change = converge(namespace, str(tmp_path), [dict(name='vif3.0', mac=['02:00:0a:00:03:05'], ipv4=['10.0.3.5'])])
    assert change.summary.startswith('replace nftables tables') and fake.listings == 2


def test_no_cache_dir_means_a_listing_every_time(tmp_path, namespace):
    converge(namespace, None)
    backend, fake, _change = converge(namespace, None)
    assert backend.source() == 'listing' and fake.listings == 2 and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize('saved', ['[1, 2]', '"text"', '{"format": 1, "namespace": "boot-1/4097", "generation": 41, "data": [1]}',
                                   '{"format": 1, "namespace": "boot-1/4097", "generation": 41, "data": {"bridge": {"comment": "x"}}}',
                                   '{"format": 1, "namespace": "boot-1/4097", "generation": 41, "data": {"bridge": {"comment": "x", '
                                   '"chains": {}, "hooks": {"prerouting": 5}, "sets": {}}}}',
                                   '{"format": 1, "namespace": "boot-1/4097", "generation": 41, "data": {"arp": null}}'])
def test_a_snapshot_that_is_not_what_the_module_wrote_means_a_listing_not_a_traceback(tmp_path, namespace, saved):
    converge(namespace, str(tmp_path))
    store = nft_snapshot.SnapshotStore(str(tmp_path), 'antispoof-nft')
    with open(store._path(), 'w') as stream:  # pylint: disable=protected-access
        stream.write(saved.replace('"generation": 41', '"generation": %d' % namespace['generation']))
    backend, fake, change = converge(namespace, str(tmp_path))
    assert backend.source() == 'listing' and fake.listings == 2 and not change
