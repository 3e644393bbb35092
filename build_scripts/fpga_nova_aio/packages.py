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

"""What the cloud runs: Debian packages, the virtualenv, the Nova patch.

Each install step leaves a marker in ``<venv>/fpga-nova-aio/`` holding a
digest of what it installed (package list, constraints, the project's
source), so that a re-run skips it unless that changed.
"""

import glob
import hashlib
import os
import shutil
import subprocess

from fpga_nova_aio import settings as aio_settings
from fpga_nova_aio import steps

#: What must not start while apt installs the servers: the cloud runs
#: its own instances of them, on its own ports and data.
POLICY_RC_D = '/usr/sbin/policy-rc.d'
POLICY_RC_D_TEXT = '''#!/bin/sh
# Written by fpga-nova's aio.sh while it installs packages: services are
# not started by apt (the cloud starts its own), and removed again after.
exit 101
'''

#: What pip installs of the project: nova_fpga and fpga_hooks.
PROJECT_SOURCES = ('nova_fpga', 'fpga_hooks/fpga_hooks', 'fpga_hooks/setup.py',
                   'bin', 'etc', 'patches', 'setup.cfg', 'setup.py',
                   'requirements.txt')


def code_markers(settings):
    """The marker files whose change means new code for the services."""
    return [_marker(settings, name)
            for name in ('openstack', 'project', 'nova-patch')]


def _marker(settings, name):
    return os.path.join(settings.venv, 'fpga-nova-aio', name + '.done')


def _marker_matches(settings, name, digest):
    try:
        with open(_marker(settings, name)) as stream:
            return stream.read().strip() == digest
    except OSError:
        return False


def _write_marker(settings, name, digest):
    path = _marker(settings, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + '.tmp', 'w') as stream:
        stream.write(digest + '\n')
    os.replace(path + '.tmp', path)


def _remove_marker(settings, name):
    try:
        os.unlink(_marker(settings, name))
    except FileNotFoundError:
        pass


def _install_log(settings):
    return settings.log('install')


# Debian packages

def missing_debian_packages(packages):
    missing = []
    for package in packages:
        result = subprocess.run(
            ['dpkg-query', '-W', '-f=${Status}', package],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if result.returncode != 0 or not result.stdout.endswith(
                ' installed'):
            missing.append(package)
    return missing


def install_debian_packages(settings):
    missing = missing_debian_packages(aio_settings.DEBIAN_PACKAGES)
    if not missing:
        return steps.already('%d packages installed'
                             % len(aio_settings.DEBIAN_PACKAGES))
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    log = _install_log(settings)
    wrote_policy = False
    if not os.path.exists(POLICY_RC_D):
        with open(POLICY_RC_D, 'w') as stream:
            stream.write(POLICY_RC_D_TEXT)
        os.chmod(POLICY_RC_D, 0o755)
        wrote_policy = True
    try:
        steps.run(['apt-get', 'update', '-q'], log, env=env)
        steps.run(['apt-get', 'install', '-y', '-q',
                   '--no-install-recommends'] + missing, log, env=env)
    finally:
        if wrote_policy:
            os.unlink(POLICY_RC_D)
    return steps.done('installed %s' % ' '.join(missing))


# The virtualenv

def create_virtualenv(settings):
    python = settings.venv_bin('python')
    if os.path.exists(python):
        return steps.already(settings.venv)
    os.makedirs(os.path.dirname(settings.venv), exist_ok=True)
    try:
        steps.run(['/usr/bin/python3', '-m', 'venv', settings.venv],
                  _install_log(settings))
        steps.run([settings.venv_bin('pip'), 'install', '--progress-bar',
                   'off', '--upgrade', 'pip', 'setuptools', 'wheel'],
                  _install_log(settings))
    except steps.StepFailed:
        # The next run starts from a new virtualenv, not a broken one.
        shutil.rmtree(settings.venv, ignore_errors=True)
        raise
    return steps.done('created %s' % settings.venv)


def _pip(settings, arguments, describe, env=None):
    steps.run([settings.venv_bin('pip'), 'install', '--progress-bar', 'off',
               '-c', aio_settings.CONSTRAINTS_FILE] + list(arguments),
              _install_log(settings), describe=describe, env=env)


def _file_digest(digest, path):
    with open(path, 'rb') as stream:
        digest.update(stream.read())


def install_openstack(settings):
    """The services and clients, under the project's constraints."""
    packages = aio_settings.SERVICE_PACKAGES + aio_settings.OTHER_PACKAGES
    digest = hashlib.sha256('\n'.join(packages).encode())
    _file_digest(digest, aio_settings.CONSTRAINTS_FILE)
    digest = digest.hexdigest()
    what = 'nova %s, its services and clients' % aio_settings.NOVA_VERSION
    if _marker_matches(settings, 'openstack', digest):
        return steps.already(what)
    _pip(settings, packages, 'pip install of the OpenStack services')
    _write_marker(settings, 'openstack', digest)
    return steps.done('installed ' + what)


def project_digest():
    """Digest of the project files pip installs."""
    digest = hashlib.sha256()
    for source in PROJECT_SOURCES:
        top = os.path.join(aio_settings.REPO_DIR, source)
        if os.path.isfile(top):
            digest.update(source.encode())
            _file_digest(digest, top)
            continue
        for directory, subdirs, files in os.walk(top):
            subdirs[:] = sorted(d for d in subdirs
                                if d != '__pycache__'
                                and not d.endswith('.egg-info'))
            for name in sorted(files):
                if name.endswith(('.pyc', '.orig', '.rej')):
                    continue
                path = os.path.join(directory, name)
                digest.update(os.path.relpath(
                    path, aio_settings.REPO_DIR).encode())
                _file_digest(digest, path)
    return digest.hexdigest()


def install_project(settings):
    """nova_fpga and fpga_hooks from this checkout."""
    digest = project_digest()
    if _marker_matches(settings, 'project', digest):
        return steps.already('nova_fpga and fpga_hooks of this checkout')
    env = dict(os.environ)
    if not os.path.exists(os.path.join(aio_settings.REPO_DIR, '.git')):
        # pbr takes the version from git; a source tree without its
        # history gets a fixed one.
        env.setdefault('PBR_VERSION', '0.0.0')
    sources = [aio_settings.REPO_DIR,
               os.path.join(aio_settings.REPO_DIR, 'fpga_hooks')]
    # pip builds and reinstalls a source directory even when the version
    # number did not change, so the checkout's code replaces the last.
    _pip(settings, sources, 'pip install of nova_fpga and fpga_hooks',
         env=env)
    _write_marker(settings, 'project', digest)
    return steps.done('installed nova_fpga and fpga_hooks of %s'
                      % aio_settings.REPO_DIR)


def patch_nova(settings):
    """Apply the project's patch for Nova 34.0.0 with nova-fpga-patch.

    A tree patched with an older version of the patch file (status
    "partially applied" or "conflicting") gets a pristine Nova again
    first.
    """
    tool = settings.venv_bin('nova-fpga-patch')
    log = _install_log(settings)
    digest = hashlib.sha256()
    _file_digest(digest, os.path.join(aio_settings.REPO_DIR,
                                      _patch_file_name()))
    code, output = steps.run([tool, 'status'], log, ok_codes=(0, 3, 4))
    if code == 0:
        _write_marker(settings, 'nova-patch', digest.hexdigest())
        return steps.already('%s applied' % _patch_file_name())
    if code == 4:
        steps.progress('the installed Nova carries another version of the '
                       'patch: reinstalling nova==%s'
                       % aio_settings.NOVA_VERSION)
        # pip removes only the files of the wheel: the files the patch
        # added would stay, and the tree would stay partially patched.
        for nova_dir in glob.glob(os.path.join(
                settings.venv, 'lib', 'python3*', 'site-packages', 'nova')):
            shutil.rmtree(nova_dir)
        _pip(settings, ['--force-reinstall', '--no-deps',
                        'nova==' + aio_settings.NOVA_VERSION],
             'pip reinstall of nova')
    steps.run([tool, 'apply'], log)
    _write_marker(settings, 'nova-patch', digest.hexdigest())
    return steps.done('applied %s' % _patch_file_name())


def _patch_file_name():
    return 'patches/nova-%s.patch' % aio_settings.NOVA_VERSION


def install_rootwrap_filters(settings, rootwrap_dir):
    """fpga.filters into a rootwrap filter directory (nova-fpga-patch)."""
    steps.run([settings.venv_bin('nova-fpga-patch'), 'apply',
               '--rootwrap-dir', rootwrap_dir], _install_log(settings))
