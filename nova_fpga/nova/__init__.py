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

"""The Nova side of nova_fpga: code that imports Nova.

The Nova patches (``patches/nova-*.patch``) add columns, object fields
and one-line calls into the modules of this package; every decision those
calls need lives here, so that a patch for another Nova release only has
to find the same seams again:

* ``resource_tracker``: the compute node's FPGA region counts, the
  ``CUSTOM_FPGA_REGION`` inventory in Placement, and the reaping of
  regions no instance holds (``nova_fpga.reconcile``);
* ``scheduler``: the scheduler's view of a host's regions and the
  automatic ``CUSTOM_FPGA_REGION`` request of a flavor asking for an IP;
* ``fpga_filter``: ``FpgaFilter``, exposed by the patch as
  ``nova.scheduler.filters.fpga_filter.FpgaFilter``;
* ``compute``: the ``build_instance`` and ``delete_instance`` hook points
  of the compute manager, and what a build refuses before it burns
  (untrusted IP-core images, ``nova_fpga.image_trust``);
* ``extra_specs``: the API validator of ``hw:fpga_ip_id`` (loaded by Nova
  through the ``nova.api.extra_spec_validators`` entry points);
* ``virt``: what ``compute_driver = docker.DockerDriver`` resolves to.

Nothing here may be imported by the parts of nova_fpga that must work
without Nova installed.
"""
