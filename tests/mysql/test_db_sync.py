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

"""``nova-manage db sync`` of the patch on a populated MariaDB database.

An unpatched copy of the installed Nova (the patch reverted) creates the
databases on the MariaDB server run-tests.sh started, and fills them in
processes of its own: compute nodes, and instances, some deleted. The
patched ``nova-manage db sync`` then upgrades them: the new columns have
the migration's types on MariaDB, every old row is still there and reads
through the patched objects, the new columns take values, and archiving
moves them into the shadow tables.
"""

import os
import sys
import textwrap
import uuid

import fixtures
import sqlalchemy as sa
import testtools

from tests.nova.functional import unpatched_nova

MIGRATION = 'b6f4c8e2a1d0'
NODES = 4
INSTANCES_PER_NODE = 50
DELETED_PER_NODE = 5

# Runs in the unpatched Nova: compute nodes, and instances on each.
FILL_OLD_DATABASE = textwrap.dedent('''
    import sys
    import nova
    from nova import config
    from nova import context
    from nova.db.main import api as db

    assert nova.__file__.startswith(sys.argv[2]), nova.__file__
    config.parse_args(['nova', '--config-file', sys.argv[1]])
    nodes, per_node, deleted = (int(value) for value in sys.argv[3:6])
    ctxt = context.get_admin_context()
    for number in range(nodes):
        host = 'host%d' % number
        db.compute_node_create(ctxt, dict(
            vcpus=16, memory_mb=32768, local_gb=400, vcpus_used=number,
            memory_mb_used=1024 * number, local_gb_used=10, cpu_info='',
            hypervisor_type='docker', hypervisor_version=1, host=host,
            hypervisor_hostname=host,
            uuid='00000000-0000-4000-8000-%012d' % number))
        for index in range(per_node):
            uuid = '%08d-0000-4000-8000-%012d' % (number, index)
            instance = db.instance_create(ctxt, dict(
                uuid=uuid, host=host, node=host, project_id='p%d' % index,
                user_id='u', display_name='server-%d-%d' % (number, index),
                vm_state='active', memory_mb=512, vcpus=1))
            if index < deleted:
                db.instance_destroy(ctxt, instance['uuid'])
''')

# Runs in the patched Nova after its db sync.
USE_UPGRADED_DATABASE = textwrap.dedent('''
    import sys
    from nova import config
    from nova import context
    from nova import objects

    config.parse_args(['nova', '--config-file', sys.argv[1]])
    objects.register_all()
    nodes, per_node, deleted = (int(value) for value in sys.argv[2:5])
    ctxt = context.get_admin_context()
    for number in range(nodes):
        host = 'host%d' % number
        node = objects.ComputeNode.get_by_nodename(ctxt, host)
        assert (node.fpga_regions, node.fpga_regions_used) == (0, 0), node
        assert node.vcpus_used == number, node
        node.fpga_regions, node.fpga_regions_used = 2, 1
        node.save()
        node = objects.ComputeNode.get_by_nodename(ctxt, host)
        assert (node.fpga_regions, node.fpga_regions_used) == (2, 1), node

        instances = objects.InstanceList.get_by_host(ctxt, host)
        assert len(instances) == per_node - deleted, len(instances)
        for instance in instances:
            assert instance.fpga_device is None, instance.fpga_device
            assert instance.display_name.startswith('server-%d-' % number)
        first, second = sorted(instances, key=lambda i: i.uuid)[:2]
        first.fpga_device = '/dev/fpga0.%d' % number
        first.save()
        # The longest id fpga-cli may hand out.
        second.fpga_device = '/dev/' + 'f' * 251
        second.save()
        second.destroy()
''')


class DbSyncOnPopulatedMariaDBTest(unpatched_nova.UnpatchedNovaMixin,
                                   testtools.TestCase):

    command_timeout = 600

    def setUp(self):
        super().setUp()
        admin_url = os.environ.get('OS_TEST_DBAPI_ADMIN_CONNECTION')
        if not admin_url:
            self.skipTest('no MariaDB server: run these tests with "tox -e '
                          'nova34-mysql", which starts one')
        self.server = sa.engine.make_url(admin_url.split(';')[0])
        self.admin = sa.create_engine(self.server)
        self.addCleanup(self.admin.dispose)
        suffix = uuid.uuid4().hex[:12]
        self.main_db = 'nova_fpga_main_%s' % suffix
        self.api_db = 'nova_fpga_api_%s' % suffix
        for name in (self.main_db, self.api_db):
            self._admin_sql('CREATE DATABASE %s' % name)
            self.addCleanup(self._admin_sql, 'DROP DATABASE %s' % name)
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.unpatched = os.path.join(self.tmp, 'unpatched')
        self.revert_patch_into(self.unpatched)
        self.conf = os.path.join(self.tmp, 'nova.conf')
        with open(self.conf, 'w') as conf:
            conf.write('[database]\nconnection = %s\n'
                       '[api_database]\nconnection = %s\n'
                       % (self._url(self.main_db), self._url(self.api_db)))
        self.main = sa.create_engine(self._url(self.main_db))
        self.addCleanup(self.main.dispose)

    def _url(self, database):
        return self.server.set(database=database).render_as_string(
            hide_password=False)

    def _admin_sql(self, statement):
        with self.admin.begin() as connection:
            connection.exec_driver_sql(statement)

    def _query(self, statement, **parameters):
        with self.main.connect() as connection:
            return connection.execute(sa.text(statement),
                                      parameters).fetchall()

    def _columns(self, table):
        return {row[0]: row[1:] for row in self._query(
            'SELECT column_name, column_type, is_nullable FROM '
            'information_schema.columns WHERE table_schema = :schema AND '
            'table_name = :table', schema=self.main_db, table=table)}

    def _count(self, table, where='1'):
        return self._query('SELECT COUNT(*) FROM %s WHERE %s'
                           % (table, where))[0][0]

    def test_db_sync_upgrades_a_populated_database(self):
        counts = [str(NODES), str(INSTANCES_PER_NODE), str(DELETED_PER_NODE)]
        self.nova_manage('api_db', 'sync', unpatched=True)
        self.nova_manage('db', 'sync', unpatched=True)
        self.assertNotIn('fpga_device', self._columns('instances'))
        self.run_command([sys.executable, '-c', FILL_OLD_DATABASE,
                          self.conf, self.unpatched] + counts,
                         unpatched=True)
        before = {table: self._count(table) for table in (
            'compute_nodes', 'instances', 'instance_extra')}
        live = self._count('instances', 'deleted = 0')

        self.nova_manage('db', 'sync')

        for prefix in ('', 'shadow_'):
            nodes = self._columns(prefix + 'compute_nodes')
            self.assertEqual(('int(11)', 'YES'), nodes['fpga_regions'])
            self.assertEqual(('int(11)', 'YES'), nodes['fpga_regions_used'])
            self.assertEqual(('varchar(256)', 'YES'),
                             self._columns(prefix + 'instances')[
                                 'fpga_device'])
        self.assertEqual([(MIGRATION,)],
                         self._query('SELECT version_num FROM '
                                     'alembic_version'))
        self.assertEqual(before, {table: self._count(table)
                                  for table in before})
        self.assertEqual(live, self._count('instances', 'deleted = 0'))
        self.assertEqual(0, self._count('instances',
                                        'fpga_device IS NOT NULL'))
        # Running it again changes nothing.
        self.nova_manage('db', 'sync')

        self.run_command([sys.executable, '-c', USE_UPGRADED_DATABASE,
                          self.conf] + counts)
        self.assertEqual(
            [(2, 1)] * NODES,
            self._query('SELECT fpga_regions, fpga_regions_used FROM '
                        'compute_nodes'))
        # Exit code 1: rows were archived.
        self.nova_manage('db', 'archive_deleted_rows', '--until-complete',
                         ok_codes=(1,))
        self.assertEqual(
            sorted(['/dev/fpga0.%d' % number for number in range(NODES)]),
            sorted(row[0] for row in self._query(
                'SELECT fpga_device FROM instances WHERE fpga_device IS '
                'NOT NULL')))
        self.assertEqual(
            ['/dev/' + 'f' * 251] * NODES,
            [row[0] for row in self._query(
                'SELECT fpga_device FROM shadow_instances WHERE '
                'fpga_device IS NOT NULL')])
        self.assertEqual(NODES * (DELETED_PER_NODE + 1),
                         self._count('shadow_instances'))
