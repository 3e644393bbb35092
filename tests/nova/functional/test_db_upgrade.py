# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""``nova-manage db sync`` of the patch on a database of unpatched Nova.

An unpatched copy of the installed Nova (the patch reverted) creates the
databases and puts a compute node and instances in them, in processes of
its own. Then the patched ``nova-manage db sync`` upgrades them, and the
patched object layer works on the old rows and the new columns, down to
archiving a deleted instance into its shadow table.
"""

import os
import sqlite3
import sys
import textwrap

import fixtures
import testtools

from tests.nova.functional import unpatched_nova

# Runs in the unpatched Nova: one compute node and two instances.
CREATE_OLD_ROWS = textwrap.dedent('''
    import sys
    from oslo_config import cfg
    import nova
    from nova import config
    from nova import context
    from nova.db.main import api as db

    assert nova.__file__.startswith(sys.argv[2]), nova.__file__
    config.parse_args(['nova', '--config-file', sys.argv[1]])
    ctxt = context.get_admin_context()
    node = db.compute_node_create(ctxt, dict(
        vcpus=4, memory_mb=4096, local_gb=40, vcpus_used=0,
        memory_mb_used=0, local_gb_used=0, hypervisor_type='fake',
        hypervisor_version=1, cpu_info='', host='host1',
        hypervisor_hostname='host1', uuid=sys.argv[3]))
    for uuid in sys.argv[4:]:
        db.instance_create(ctxt, dict(uuid=uuid, host='host1', node='host1',
                                      project_id='p', user_id='u'))
''')

# Runs in the patched Nova after its db sync.
USE_UPGRADED_ROWS = textwrap.dedent('''
    import sys
    from nova import config
    from nova import context
    from nova import objects

    config.parse_args(['nova', '--config-file', sys.argv[1]])
    objects.register_all()
    ctxt = context.get_admin_context()
    node = objects.ComputeNode.get_by_uuid(ctxt, sys.argv[2])
    assert (node.fpga_regions, node.fpga_regions_used) == (0, 0), node
    node.fpga_regions, node.fpga_regions_used = 2, 1
    node.save()
    node = objects.ComputeNode.get_by_uuid(ctxt, sys.argv[2])
    assert (node.fpga_regions, node.fpga_regions_used) == (2, 1), node

    kept, deleted = sys.argv[3], sys.argv[4]
    instance = objects.Instance.get_by_uuid(ctxt, kept)
    assert instance.fpga_device is None, instance.fpga_device
    instance.fpga_device = '/dev/fpga0'
    instance.save()
    assert objects.Instance.get_by_uuid(
        ctxt, kept).fpga_device == '/dev/fpga0'

    instance = objects.Instance.get_by_uuid(ctxt, deleted)
    instance.fpga_device = '/dev/fpga1'
    instance.save()
    instance.destroy()
''')


class DbSyncOnUnpatchedDatabaseTest(unpatched_nova.UnpatchedNovaMixin,
                                    testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.unpatched = os.path.join(self.tmp, 'unpatched')
        self.revert_patch_into(self.unpatched)
        self.main_db = os.path.join(self.tmp, 'nova.sqlite')
        self.conf = os.path.join(self.tmp, 'nova.conf')
        with open(self.conf, 'w') as conf:
            conf.write('[database]\nconnection = sqlite:///%s\n'
                       '[api_database]\nconnection = sqlite:///%s\n'
                       % (self.main_db,
                          os.path.join(self.tmp, 'nova_api.sqlite')))

    def _columns(self, table):
        with sqlite3.connect(self.main_db) as db:
            return {row[1] for row in db.execute(
                'PRAGMA table_info(%s)' % table)}

    def test_db_sync_upgrades_old_rows_and_patched_nova_uses_them(self):
        node_uuid = 'a8fd4a33-8d4e-4b8e-9a49-3c0d61b1a2a1'
        kept = '2b0e2b6c-3b89-4b0c-8f0a-6f2a2b9f6d10'
        deleted = '5c9c7a1e-0f3e-4d6e-9a0e-5d3b8b0c7e21'
        self.nova_manage('api_db', 'sync', unpatched=True)
        self.nova_manage('db', 'sync', unpatched=True)
        self.assertNotIn('fpga_device', self._columns('instances'))
        self.run_command([sys.executable, '-c', CREATE_OLD_ROWS, self.conf,
                          self.unpatched, node_uuid, kept, deleted],
                         unpatched=True)

        self.nova_manage('db', 'sync')

        for prefix in ('', 'shadow_'):
            self.assertLessEqual({'fpga_regions', 'fpga_regions_used'},
                                 self._columns(prefix + 'compute_nodes'))
            self.assertIn('fpga_device', self._columns(prefix + 'instances'))
        self.run_command([sys.executable, '-c', USE_UPGRADED_ROWS, self.conf,
                          node_uuid, kept, deleted])
        # Exit code 1: rows were archived.
        self.nova_manage('db', 'archive_deleted_rows', '--until-complete',
                         ok_codes=(1,))
        with sqlite3.connect(self.main_db) as db:
            archived = db.execute(
                'SELECT fpga_device FROM shadow_instances WHERE uuid = ?',
                (deleted,)).fetchall()
            kept_rows = db.execute(
                'SELECT fpga_device FROM instances WHERE uuid = ?',
                (kept,)).fetchall()
        self.assertEqual([('/dev/fpga1',)], archived)
        self.assertEqual([('/dev/fpga0',)], kept_rows)
