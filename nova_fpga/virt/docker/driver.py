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

"""A Nova compute driver running every instance as a Docker container.

``compute_driver = docker.DockerDriver`` (through the ``nova.virt.docker``
module the Nova patch adds). One container per instance, named
``nova-<instance uuid>``, made from the instance's Glance image (a
``docker save`` archive, see :mod:`.images`), with the flavor's memory and
CPU as limits and the devices :mod:`.devices` allows: the instance's own
FPGA region and what the operator allowed.

Ownership: every container carries the labels of the compute service that
made it (``org.openstack.nova.host`` and ``.node``), and a driver lists,
counts, inspects, reaps and destroys only containers with its own labels,
so several nova-compute services can share one Docker daemon.

Node identity: the node is named after ``[DEFAULT] host`` (unique per
compute service, unlike the machine's host name when two services share
it), and its UUID is Nova's persistent local node identity
(``compute_id`` in ``[DEFAULT] state_path``), so it survives restarts.

A spawn creates its container as ``nova-<uuid>-spawning`` and gives it
its final name once it is started: a container still carrying the
temporary name after its spawn ended (the daemon or the service went away
mid-way) is a leftover, and is removed when the driver starts and on
every resource audit.
"""

import os
import platform
import re
import shlex

from docker import errors as docker_errors
from nova.compute import power_state
import nova.conf
from nova import exception as nova_exception
from nova.image import glance
from nova.objects import fields as obj_fields
from nova.virt import driver
from nova.virt import hardware
import os_resource_classes as orc
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import units
from oslo_utils import versionutils

from nova_fpga import conf_docker  # noqa: F401 (registers [docker])
from nova_fpga import regions
from nova_fpga.virt.docker import daemon as docker_daemon
from nova_fpga.virt.docker import devices as docker_devices
from nova_fpga.virt.docker import exception
from nova_fpga.virt.docker import images

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)

LABEL_HOST = 'org.openstack.nova.host'
LABEL_NODE = 'org.openstack.nova.node'
LABEL_INSTANCE = 'org.openstack.nova.instance-uuid'
LABEL_INSTANCE_NAME = 'org.openstack.nova.instance-name'
LABEL_IMAGE = 'org.openstack.nova.image-id'
#: The instance's FPGA region id ('' without one): how every driver on
#: the daemon knows the regions of containers it did not create.
LABEL_FPGA_DEVICE = 'org.openstack.nova-fpga.fpga-device'

CONTAINER_NAME_PREFIX = 'nova-'
SPAWNING_SUFFIX = '-spawning'

#: Image property naming the devices a container asks for.
DOCKER_DEVICES_PROPERTY = 'docker_devices'
#: Variable telling the container's programs their FPGA region's device.
FPGA_DEVICE_VARIABLE = 'FPGA_DEVICE'

#: What get_console_output returns at most: the end of the container log.
MAX_CONSOLE_BYTES = 100 * units.Ki
_CONSOLE_TAIL_LINES = 10000

POWER_STATES = {
    'created': power_state.SHUTDOWN,
    'running': power_state.RUNNING,
    'paused': power_state.PAUSED,
    'restarting': power_state.RUNNING,
    'removing': power_state.NOSTATE,
    'exited': power_state.SHUTDOWN,
    'dead': power_state.CRASHED,
}

_VERSION_RE = re.compile(r'(\d+)\.(\d+)(?:\.(\d+))?')


def container_name(instance_uuid):
    return CONTAINER_NAME_PREFIX + instance_uuid


def instance_fpga_device(instance):
    """The instance's FPGA region id, or None.

    With the Nova patch it is an Instance field; a field that was never
    loaded counts as none (loading it lazily would need a database).
    Without the patch, whatever set the attribute (fpga_hooks) wins.
    """
    if 'fpga_device' in getattr(instance, 'fields', {}):
        if not instance.obj_attr_is_set('fpga_device'):
            return None
        return instance.fpga_device
    return getattr(instance, 'fpga_device', None)


def _name(summary):
    """A container's name in the daemon's container list."""
    names = summary.get('Names') or ['']
    return names[0].lstrip('/')


class DockerDriver(driver.ComputeDriver):
    """Instances as Docker containers, with their FPGA region device."""

    capabilities = dict(
        driver.ComputeDriver.capabilities,
        # Images loaded from Glance stay in the daemon (keep_unused_images)
        # and manage_image_cache ages them out.
        has_imagecache=True,
    )

    def __init__(self, virtapi):
        super().__init__(virtapi)
        self._host = CONF.host
        self._nodename = CONF.host
        self._daemon = docker_daemon.DockerDaemon(CONF.docker.host_url,
                                                  CONF.docker.api_timeout)
        self._images = images.ImageCache(self._daemon, glance.API(),
                                         CONF.docker.image_download_dir)
        self._device_policy = docker_devices.DevicePolicy(
            CONF.docker.allowed_devices, CONF.docker.fpga_device_patterns)
        # Instance UUIDs whose spawn is running in this process: their
        # "-spawning" containers are not leftovers.
        self._spawning = set()

    # Service life cycle

    def init_host(self, host):
        try:
            version = self._daemon.ping()
        except exception.DockerUnavailable as e:
            LOG.error('The Docker driver cannot start: %s', e)
            raise
        LOG.info('Docker driver of host %(host)s, node %(node)s: daemon '
                 '%(url)s, Docker %(version)s (API %(api)s)',
                 {'host': self._host, 'node': self._nodename,
                  'url': self._daemon.url,
                  'version': version.get('Version'),
                  'api': version.get('ApiVersion')})
        self._remove_leftovers()

    def cleanup_host(self, host):
        self._daemon.close()

    def get_host_ip_addr(self):
        return CONF.my_ip

    def get_available_nodes(self, refresh=False):
        return [self._nodename]

    # Containers of this compute service

    def _labels_filter(self, instance_uuid=None):
        labels = ['%s=%s' % (LABEL_HOST, self._host),
                  '%s=%s' % (LABEL_NODE, self._nodename)]
        if instance_uuid:
            labels.append('%s=%s' % (LABEL_INSTANCE, instance_uuid))
        return {'label': labels}

    def _own_containers(self, instance_uuid=None):
        """Summaries of this service's containers (of one instance)."""
        client = self._daemon.client
        with self._daemon.calling('list containers'):
            return client.api.containers(
                all=True, filters=self._labels_filter(instance_uuid))

    def _container_id(self, instance):
        """The id of the instance's container; InstanceNotFound if none."""
        wanted = container_name(instance.uuid)
        for summary in self._own_containers(instance.uuid):
            if _name(summary) == wanted:
                return summary['Id']
        raise nova_exception.InstanceNotFound(instance_id=instance.uuid)

    def _inspect(self, instance):
        container_id = self._container_id(instance)
        client = self._daemon.client
        try:
            with self._daemon.calling('inspect container %s'
                                      % container_id):
                return client.api.inspect_container(container_id)
        except docker_errors.NotFound:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)

    def _act(self, instance, action, call, *args, **kwargs):
        """Run an SDK call on the instance's container."""
        container_id = self._container_id(instance)
        try:
            with self._daemon.calling('%s container %s'
                                      % (action, container_name(
                                          instance.uuid))):
                return call(container_id, *args, **kwargs)
        except docker_errors.NotFound:
            raise nova_exception.InstanceNotFound(instance_id=instance.uuid)

    def _remove(self, container_id, name):
        client = self._daemon.client
        try:
            with self._daemon.calling('remove container %s' % name):
                # v: the container's anonymous volumes go with it.
                client.api.remove_container(container_id, v=True,
                                            force=True)
        except docker_errors.NotFound:
            return False
        return True

    def list_instance_uuids(self):
        return sorted({summary['Labels'][LABEL_INSTANCE]
                       for summary in self._own_containers()
                       if not _name(summary).endswith(SPAWNING_SUFFIX)})

    def list_instances(self):
        return sorted(summary['Labels'].get(LABEL_INSTANCE_NAME)
                      or summary['Labels'][LABEL_INSTANCE]
                      for summary in self._own_containers()
                      if not _name(summary).endswith(SPAWNING_SUFFIX))

    def instance_exists(self, instance):
        try:
            self._container_id(instance)
        except nova_exception.InstanceNotFound:
            return False
        return True

    def _remove_leftovers(self):
        """Remove containers of spawns that did not finish."""
        for summary in self._own_containers():
            name = _name(summary)
            instance_uuid = summary['Labels'].get(LABEL_INSTANCE)
            if (name.endswith(SPAWNING_SUFFIX)
                    and instance_uuid not in self._spawning):
                LOG.warning('Removing container %(name)s left behind by a '
                            'spawn of instance %(instance)s that did not '
                            'finish', {'name': name,
                                       'instance': instance_uuid})
                self._remove(summary['Id'], name)

    # Spawn

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, **kwargs):
        image_id = image_meta.id if image_meta.obj_attr_is_set('id') \
            else None
        if not image_id:
            raise nova_exception.InvalidInput(
                reason='the Docker driver boots instances from Glance '
                       'images only (container format docker), not from '
                       'volumes')
        self._spawning.add(instance.uuid)
        try:
            self._spawn(context, instance, image_meta, image_id, power_on)
        finally:
            self._spawning.discard(instance.uuid)

    def _spawn(self, context, instance, image_meta, image_id, power_on):
        properties = regions.image_properties(instance)
        fpga_device = instance_fpga_device(instance)
        device_mappings = self._plan_devices(instance, image_id,
                                             fpga_device, properties)
        command = self._command(image_id, image_meta, properties)
        container_format = (image_meta.container_format
                            if image_meta.obj_attr_is_set('container_format')
                            else None)
        docker_image, loaded = self._images.ensure(context, image_id,
                                                   container_format)
        self._remove_stale_containers(instance)
        region_path = next((mapping.path_in_container
                            for mapping in device_mappings
                            if mapping.path_on_host == fpga_device), None)
        create = dict(
            command=command,
            hostname=(instance.hostname
                      if instance.obj_attr_is_set('hostname') else None),
            labels={
                LABEL_HOST: self._host,
                LABEL_NODE: self._nodename,
                LABEL_INSTANCE: instance.uuid,
                LABEL_INSTANCE_NAME: instance.name,
                LABEL_IMAGE: image_id,
                LABEL_FPGA_DEVICE: fpga_device or '',
            },
            environment=({FPGA_DEVICE_VARIABLE: region_path}
                         if region_path else None),
            host_config=self._host_config(instance, device_mappings),
            detach=True,
        )
        name = container_name(instance.uuid)
        spawning_name = name + SPAWNING_SUFFIX
        client = self._daemon.client
        try:
            try:
                container_id = self._create(spawning_name, docker_image,
                                            create)
            except docker_errors.ImageNotFound:
                # Removed by another compute service's image cache pass
                # between ensure() and create: load it again, once.
                docker_image, loaded = self._images.ensure(
                    context, image_id, container_format)
                container_id = self._create(spawning_name, docker_image,
                                            create)
            if power_on:
                with self._daemon.calling('start container %s'
                                          % spawning_name):
                    client.api.start(container_id)
            with self._daemon.calling('rename container %s'
                                      % spawning_name):
                client.api.rename(container_id, name)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._remove_failed_spawn(instance)
        LOG.info('Spawned container %(name)s from image %(image)s '
                 '(%(cache)s) with devices %(devices)s',
                 {'name': name, 'image': image_id,
                  'cache': 'downloaded' if loaded else 'cached',
                  'devices': ', '.join(m.path_on_host
                                       for m in device_mappings) or 'none'},
                 instance=instance)

    def _create(self, name, docker_image, create):
        client = self._daemon.client
        with self._daemon.calling('create container %s' % name):
            return client.api.create_container(
                docker_image, name=name, **create)['Id']

    def _plan_devices(self, instance, image_id, fpga_device, properties):
        requested = docker_devices.parse_docker_devices(
            properties.get(DOCKER_DEVICES_PROPERTY))
        try:
            return self._device_policy.plan(fpga_device, requested,
                                            self._regions_of_others(
                                                instance.uuid))
        except (docker_devices.DeviceNotAllowed,
                docker_devices.MalformedDeviceRequest) as e:
            raise nova_exception.ImageUnacceptable(
                image_id=image_id, reason='its %s property is refused: %s'
                % (DOCKER_DEVICES_PROPERTY, e))
        except docker_devices.DeviceUnavailable as e:
            raise exception.DeviceUnavailable(detail=str(e),
                                              instance_uuid=instance.uuid)

    def _regions_of_others(self, instance_uuid):
        """FPGA region ids of every other container on the daemon."""
        client = self._daemon.client
        with self._daemon.calling('list containers'):
            summaries = client.api.containers(
                all=True, filters={'label': LABEL_FPGA_DEVICE})
        return {summary['Labels'][LABEL_FPGA_DEVICE]
                for summary in summaries
                if summary['Labels'].get(LABEL_FPGA_DEVICE)
                and summary['Labels'].get(LABEL_INSTANCE) != instance_uuid}

    def _command(self, image_id, image_meta, properties):
        """os_command_line split like a shell would, or None."""
        command_line = None
        if image_meta.obj_attr_is_set('properties'):
            command_line = image_meta.properties.get('os_command_line')
        command_line = command_line or properties.get('os_command_line')
        if not command_line:
            return None
        try:
            return shlex.split(command_line)
        except ValueError as e:
            raise nova_exception.ImageUnacceptable(
                image_id=image_id, reason='its os_command_line %r cannot be '
                'split into arguments: %s' % (command_line, e))

    def _host_config(self, instance, device_mappings):
        flavor = instance.flavor
        # A limit above the host's CPUs is refused by the daemon; the
        # flavor can ask for more when CPUs are overcommitted.
        host_cpus = self._daemon.info().get('NCPU') or flavor.vcpus
        cpus = min(flavor.vcpus, host_cpus)
        client = self._daemon.client
        return client.api.create_host_config(
            network_mode=CONF.docker.network_mode,
            devices=docker_devices.docker_device_dicts(device_mappings),
            mem_limit=flavor.memory_mb * units.Mi,
            memswap_limit=(flavor.memory_mb + (flavor.swap or 0)) * units.Mi,
            nano_cpus=int(cpus * 1e9),
            cpu_shares=1024 * flavor.vcpus,
        )

    def _remove_stale_containers(self, instance):
        """Remove what an earlier spawn of the instance left here.

        A container of another compute service with the instance's name
        is never touched: the spawn fails instead.
        """
        for summary in self._own_containers(instance.uuid):
            LOG.warning('Removing container %s left from an earlier spawn',
                        _name(summary), instance=instance)
            self._remove(summary['Id'], _name(summary))
        client = self._daemon.client
        for name in (container_name(instance.uuid),
                     container_name(instance.uuid) + SPAWNING_SUFFIX):
            try:
                with self._daemon.calling('inspect container %s' % name):
                    labels = client.api.inspect_container(
                        name)['Config'].get('Labels') or {}
            except docker_errors.NotFound:
                continue
            raise exception.ContainerOwnedElsewhere(
                name=name, instance_uuid=instance.uuid,
                owner='%s (node %s)' % (labels.get(LABEL_HOST),
                                        labels.get(LABEL_NODE)),
                host=self._host)

    def _remove_failed_spawn(self, instance):
        """Remove the container of a failed spawn, if the daemon answers.

        When it does not, the container keeps its "-spawning" name and
        is removed as a leftover once the daemon is back.
        """
        try:
            for summary in self._own_containers(instance.uuid):
                self._remove(summary['Id'], _name(summary))
        except exception.DockerUnavailable as e:
            LOG.warning('Cannot remove the container of the failed spawn '
                        'now, it will be removed once the daemon answers: '
                        '%s', e, instance=instance)
        except Exception:
            LOG.exception('Cannot remove the container of the failed spawn',
                          instance=instance)

    # Destroy

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, **kwargs):
        """Remove the instance's container(s); nothing else stays."""
        image_ids = set()
        for summary in self._own_containers(instance.uuid):
            image_ids.add(summary['Labels'].get(LABEL_IMAGE))
            if self._remove(summary['Id'], _name(summary)):
                LOG.info('Removed container %s', _name(summary),
                         instance=instance)
        if not CONF.docker.keep_unused_images:
            for image_id in image_ids - {None} - self._images_in_use():
                self._images.remove(image_id)

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, **kwargs):
        # A container has nothing outside itself that destroy leaves.
        self.destroy(context, instance, network_info, block_device_info,
                     destroy_disks)

    # Power

    def get_info(self, instance, use_cache=True):
        status = self._inspect(instance)['State'].get('Status')
        return hardware.InstanceInfo(
            state=POWER_STATES.get(status, power_state.NOSTATE))

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None, **kwargs):
        client = self._daemon.client
        if self._inspect(instance)['State'].get('Paused'):
            self._act(instance, 'unpause', client.api.unpause)
        timeout = 0 if reboot_type == 'HARD' else CONF.shutdown_timeout
        self._act(instance, 'restart', client.api.restart, timeout=timeout)

    def power_off(self, instance, timeout=0, retry_interval=0):
        # docker stop: SIGTERM (or the image's stop signal), SIGKILL after
        # timeout seconds; 0 kills at once, as a hard power off does.
        client = self._daemon.client
        self._act(instance, 'stop', client.api.stop, timeout=timeout)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, **kwargs):
        self._start(instance)

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  *args, **kwargs):
        self._start(instance)

    def _start(self, instance):
        client = self._daemon.client
        state = self._inspect(instance)['State']
        if state.get('Paused'):
            self._act(instance, 'unpause', client.api.unpause)
        elif not state.get('Running'):
            self._act(instance, 'start', client.api.start)

    def pause(self, instance):
        client = self._daemon.client
        self._act(instance, 'pause', client.api.pause)

    def unpause(self, instance):
        client = self._daemon.client
        self._act(instance, 'unpause', client.api.unpause)

    def get_console_output(self, context, instance):
        client = self._daemon.client
        output = self._act(instance, 'read the log of', client.api.logs,
                           stdout=True, stderr=True,
                           tail=_CONSOLE_TAIL_LINES)
        return output[-MAX_CONSOLE_BYTES:]

    # Images

    def cache_image(self, context, image_id):
        _docker_image, loaded = self._images.ensure(context, image_id)
        return loaded

    def manage_image_cache(self, context, all_instances):
        if CONF.docker.keep_unused_images and \
                CONF.image_cache.remove_unused_base_images:
            self._images.remove_unused(
                CONF.image_cache.remove_unused_original_minimum_age_seconds,
                self._images_in_use())

    def _images_in_use(self):
        """Glance ids of the images of every container on the daemon."""
        client = self._daemon.client
        with self._daemon.calling('list containers'):
            summaries = client.api.containers(
                all=True, filters={'label': LABEL_IMAGE})
        return {summary['Labels'][LABEL_IMAGE] for summary in summaries}

    # Resources

    def _host_resources(self):
        info = self._daemon.info()
        disk = _disk_gb(info.get('DockerRootDir'))
        return {
            'vcpus': info.get('NCPU') or 0,
            'memory_mb': (info.get('MemTotal') or 0) // units.Mi,
            'local_gb': disk[0],
            'local_gb_free': disk[1],
            'architecture': obj_fields.Architecture.canonicalize(
                info.get('Architecture') or platform.machine()),
            'version': info.get('ServerVersion') or '',
        }

    def get_available_resource(self, nodename):
        # The resource audit runs every minute or so: the time to remove
        # what failed spawns left while the daemon was away.
        self._remove_leftovers()
        host = self._host_resources()
        match = _VERSION_RE.match(host['version'])
        version = versionutils.convert_version_to_int(
            '%s.%s.%s' % (match.group(1), match.group(2),
                          match.group(3) or 0)) if match else 0
        return {
            'vcpus': host['vcpus'],
            'memory_mb': host['memory_mb'],
            'local_gb': host['local_gb'],
            # The resource tracker computes usage from the instances.
            'vcpus_used': 0,
            'memory_mb_used': 0,
            'local_gb_used': host['local_gb'] - host['local_gb_free'],
            'hypervisor_type': obj_fields.HVType.DOCKER,
            'hypervisor_version': version,
            'hypervisor_hostname': nodename,
            'cpu_info': '',
            'disk_available_least': host['local_gb_free'],
            'supported_instances': [(host['architecture'],
                                     obj_fields.HVType.DOCKER,
                                     obj_fields.VMMode.EXE)],
            'numa_topology': None,
        }

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        host = self._host_resources()
        ratios = self._get_allocation_ratios(
            provider_tree.data(nodename).inventory)
        totals = {
            orc.VCPU: (host['vcpus'], CONF.reserved_host_cpus),
            orc.MEMORY_MB: (host['memory_mb'], CONF.reserved_host_memory_mb),
            orc.DISK_GB: (host['local_gb'],
                          self._get_reserved_host_disk_gb_from_config()),
        }
        inventory = {}
        for resource_class, (total, reserved) in totals.items():
            if total <= 0:
                continue
            inventory[resource_class] = {
                'total': total,
                'min_unit': 1,
                'max_unit': total,
                'step_size': 1,
                'allocation_ratio': ratios[resource_class],
                'reserved': reserved,
            }
        provider_tree.update_inventory(nodename, inventory)


def _disk_gb(path):
    """(total, free) GiB of the file system holding path; (0, 0) unknown."""
    try:
        stats = os.statvfs(path)
    except (OSError, TypeError) as e:
        LOG.warning('Cannot measure the disk of the Docker data root %s: '
                    '%s', path, e)
        return 0, 0
    return (stats.f_blocks * stats.f_frsize // units.Gi,
            stats.f_bavail * stats.f_frsize // units.Gi)
