# -*- coding: utf-8 -*-
# Copyright: Contributors to the ascend.serving project
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers for the text printed by Huawei's ``npu-smi`` tool.

Nothing here runs a command or reads a file: every function takes the tool's
stdout as a string and returns plain data (dicts, lists, str, int, float,
None), or raises :class:`ParseError` naming the line it could not read.

Covered outputs:

* ``npu-smi info``: the summary table, in the 98-column layout (910, 910B,
  A3 ``Ascend910``), the 106-column layout (310P, 310B) and the 116-column
  layout of 26.x drivers (extra ``Process id in container`` column);
  :func:`parse_info`.
* ``npu-smi info -l``: :func:`parse_info_list`.
* ``npu-smi info -m``: :func:`parse_info_mapping`.
* ``npu-smi info -t board -i N [-c C]``: :func:`parse_board`; the other
  ``key : value`` reports (``-t usages``, ``-t temp``, ``-t power``):
  :func:`parse_key_value_sections`; ``-t health``: :func:`parse_health`.
* ``npu-smi info -t topo``: :func:`parse_topo`.

A line that is exactly ``...`` is an elision left by someone who pasted the
output into a document; parsers skip it so such samples stay usable.
"""

from __future__ import annotations

import re
from ansible_collections.ascend.serving.plugins.module_utils._parse import ParseError, is_elision

__all__ = [
    'ParseError',
    'classify_product',
    'is_elision',
    'parse_board',
    'parse_health',
    'parse_info',
    'parse_info_list',
    'parse_info_mapping',
    'parse_key_value_sections',
    'parse_topo',
]

# Values npu-smi prints where a number is not available.
_MISSING = frozenset(['-', 'NA', 'N/A', '--'])


def _snake(key):
    """``'PCIe Bus Info'`` -> ``'pcie_bus_info'``, ``'Temp(C)'`` -> ``'temp_c'``."""
    return re.sub(r'[^a-z0-9]+', '_', key.lower()).strip('_')


def _int(token, what, line, lineno):
    if token in _MISSING:
        return None
    try:
        return int(token)
    except ValueError:
        raise ParseError('%s is not an integer: %r' % (what, token), line, lineno)


def _float(token, what, line, lineno):
    if token in _MISSING:
        return None
    try:
        return float(token)
    except ValueError:
        raise ParseError('%s is not a number: %r' % (what, token), line, lineno)


def _usage(token, what, line, lineno):
    """``'59718/65536'`` -> ``(59718, 65536)``; missing -> ``(None, None)``."""
    if token in _MISSING:
        return None, None
    used, sep, total = token.partition('/')
    if not sep:
        raise ParseError('%s is not a used/total pair: %r' % (what, token), line, lineno)
    return _int(used, what, line, lineno), _int(total, what, line, lineno)


# --------------------------------------------------------------------------
# npu-smi info
# --------------------------------------------------------------------------

_VERSION_RE = re.compile(r'^npu-smi\s+(\S+)\s+Version:\s*(\S+)$')
_NO_PROCS_RE = re.compile(r'^No running processes found in NPU\s+(\d+)$')
_BORDER_RE = re.compile(r'^\+[-=+]*$')

# Header words of the chip table -> the field they fill.
_ROW1_FIELDS = {'Power(W)': 'power_w', 'Temp(C)': 'temp_c', 'Hugepages-Usage(page)': 'hugepages'}
_ROW2_ID_FIELDS = {'Chip': 'chip_id', 'Phy-ID': 'phy_id', 'Device': 'device_id'}
_ROW2_FIELDS = {'AICore(%)': 'aicore_pct', 'Memory-Usage(MB)': 'memory', 'HBM-Usage(MB)': 'hbm'}
_PROC_FIELDS = {
    'NPU Chip': 'ids',
    'Process id': 'pid',
    'Process name': 'name',
    'Process memory(MB)': 'memory_mb',
    'Process id in container': 'container_pid',
}


def _cells(line):
    """Split a ``| a | b |`` table row into stripped cells.

    The closing ``|`` is optional: one published sample lost it when the
    author cut the last line.
    """
    body = line.strip()[1:]
    if body.endswith('|'):
        body = body[:-1]
    return [cell.strip() for cell in body.split('|')]


def _tokens(cell):
    """Whitespace-split a cell, first gluing ``a / b`` and ``a/ b`` into ``a/b``."""
    return re.sub(r'\s*/\s*', '/', cell).split()


def _header_fields(words, known, line, lineno):
    fields = []
    for word in words:
        if word not in known:
            raise ParseError('unknown column %r in the npu-smi table header' % word, line, lineno)
        fields.append(known[word])
    return fields


def _chip_from_rows(row_a, row_b, layout):
    """Build one chip dict from the two table rows that describe it."""
    (cells_a, line_a, no_a), (cells_b, line_b, no_b) = row_a, row_b
    if len(cells_a) != 3:
        raise ParseError('expected 3 cells in the first row of a chip', line_a, no_a)
    if len(cells_b) != 3:
        raise ParseError('expected 3 cells in the second row of a chip', line_b, no_b)

    id_name = cells_a[0].split()
    if len(id_name) < 2:
        raise ParseError('expected "<NPU id> <name>" in the first cell', line_a, no_a)
    chip = {
        'npu_id': _int(id_name[0], 'NPU id', line_a, no_a),
        'chip_id': None,
        'phy_id': None,
        'device_id': None,
        'name': ' '.join(id_name[1:]),
        'health': cells_a[1],
        'power_w': None,
        'temp_c': None,
        'hugepages_used': None,
        'hugepages_total': None,
        'aicore_pct': None,
        'hbm_used_mb': None,
        'hbm_total_mb': None,
        'memory_used_mb': None,
        'memory_total_mb': None,
        'bus_id': None if cells_b[1] in _MISSING else cells_b[1],
    }
    if chip['npu_id'] is None:
        raise ParseError('the NPU id is missing', line_a, no_a)
    if not chip['health']:
        raise ParseError('the Health cell is empty', line_a, no_a)

    values = _tokens(cells_a[2])
    if len(values) != len(layout['row1']):
        raise ParseError('expected %d values (%s), found %d' % (
            len(layout['row1']), ', '.join(layout['row1_words']), len(values)), line_a, no_a)
    for field, token in zip(layout['row1'], values):
        if field == 'power_w':
            chip['power_w'] = _float(token, 'Power(W)', line_a, no_a)
        elif field == 'temp_c':
            chip['temp_c'] = _int(token, 'Temp(C)', line_a, no_a)
        elif field == 'hugepages':
            chip['hugepages_used'], chip['hugepages_total'] = _usage(token, 'Hugepages-Usage', line_a, no_a)

    ids = cells_b[0].split()
    if len(ids) != len(layout['ids']):
        raise ParseError('expected %d ids (%s) in the first cell, found %d' % (
            len(layout['ids']), ', '.join(layout['ids_words']), len(ids)), line_b, no_b)
    for field, token in zip(layout['ids'], ids):
        chip[field] = _int(token, field, line_b, no_b)
    if chip['chip_id'] is None:
        raise ParseError('the Chip id is missing', line_b, no_b)

    values = _tokens(cells_b[2])
    if len(values) != len(layout['row2']):
        raise ParseError('expected %d values (%s), found %d' % (
            len(layout['row2']), ', '.join(layout['row2_words']), len(values)), line_b, no_b)
    for field, token in zip(layout['row2'], values):
        if field == 'aicore_pct':
            chip['aicore_pct'] = _int(token, 'AICore(%)', line_b, no_b)
        elif field == 'memory':
            chip['memory_used_mb'], chip['memory_total_mb'] = _usage(token, 'Memory-Usage', line_b, no_b)
        elif field == 'hbm':
            chip['hbm_used_mb'], chip['hbm_total_mb'] = _usage(token, 'HBM-Usage', line_b, no_b)
    return chip


def _process_from_row(cells, line, lineno, proc_fields):
    if len(cells) != len(proc_fields):
        raise ParseError('expected %d cells in a process row, found %d' % (len(proc_fields), len(cells)),
                         line, lineno)
    proc = {'npu_id': None, 'chip_id': None, 'pid': None, 'name': None, 'memory_mb': None,
            'container_pid': None}
    for field, cell in zip(proc_fields, cells):
        if field == 'ids':
            ids = cell.split()
            if len(ids) != 2:
                raise ParseError('expected "<NPU id> <chip id>" in a process row', line, lineno)
            proc['npu_id'] = _int(ids[0], 'NPU id', line, lineno)
            proc['chip_id'] = _int(ids[1], 'Chip id', line, lineno)
        elif field == 'name':
            # npu-smi truncates names to 15 characters and prints nothing for
            # some containerised processes: keep the cell as it is.
            proc['name'] = cell
        else:
            proc[field] = _int(cell, field, line, lineno)
    if proc['pid'] is None:
        raise ParseError('a process row has no process id', line, lineno)
    return proc


def classify_product(chips):
    """Name the product family of a host from its chip list.

    ``a2``: every chip a ``910B<digit>...`` model (910B1-910B4, 910B4-1) and
    one chip per NPU id.  ``a3``: every chip ``Ascend910`` with at most two
    chips per NPU id and at least one NPU showing two (or the table carries a
    Phy-ID).  ``310p``: every chip ``310P...``.  ``910``: first generation
    (``910A``, ``910ProA``/``ProB``, ``910PremiumA`` and the bare ``910B``
    name the first generation prints).  ``unknown`` otherwise, including
    mixed hosts and hosts without chips.
    """
    if not chips:
        return 'unknown'
    names = set(chip['name'] for chip in chips)
    per_npu = {}
    for chip in chips:
        per_npu[chip['npu_id']] = per_npu.get(chip['npu_id'], 0) + 1
    max_chips = max(per_npu.values())
    if all(re.match(r'^910B\d', name) for name in names):
        return 'a2' if max_chips == 1 else 'unknown'
    if names == set(['Ascend910']):
        has_phy = any(chip['phy_id'] is not None for chip in chips)
        if max_chips <= 2 and (max_chips == 2 or has_phy):
            return 'a3'
        return 'unknown'
    if all(name.upper().startswith('310P') for name in names):
        return '310p'
    if all(re.match(r'^910(A|B|ProA|ProB|PremiumA)$', name) for name in names):
        return '910'
    return 'unknown'


def parse_info(text):
    """Parse the table printed by ``npu-smi info``.

    Returns a dict::

        {'npu_smi_version': '24.1.rc3', 'version': '24.1.rc3',
         'product': 'a2' | 'a3' | '310p' | '910' | 'unknown',
         'npu_count': int, 'chip_count': int, 'healthy': bool,
         'chips': [{'npu_id', 'chip_id', 'phy_id', 'device_id', 'name', 'health',
                    'power_w', 'temp_c', 'hugepages_used', 'hugepages_total',
                    'aicore_pct', 'hbm_used_mb', 'hbm_total_mb',
                    'memory_used_mb', 'memory_total_mb', 'bus_id'}, ...],
         'processes': [{'npu_id', 'chip_id', 'pid', 'name', 'memory_mb',
                        'container_pid'}, ...]}

    ``phy_id`` is filled from a ``Phy-ID`` column (A3), ``device_id`` from a
    ``Device`` column (310P/310B; the chip's logic id); both are None when the
    table has no such column.  ``hbm_*`` are None when the layout has no HBM
    column.  Numbers printed as ``-`` or ``NA`` become None.  ``healthy`` is
    True when there is at least one chip and every chip's Health is ``OK``.
    Raises ParseError on empty output and on any line it cannot place.
    """
    if not text or not text.strip():
        raise ParseError('npu-smi printed nothing')

    npu_smi_version = version = None
    layout = None           # dict describing the chip table columns, once both header rows are read
    header_row1 = None      # (row1 fields, words) while waiting for header row 2
    proc_fields = None
    section = None          # None, 'chips' or 'procs'
    pending = None          # first row of a chip, waiting for its second row
    chips = []
    processes = []

    lines = text.splitlines()
    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip()
        if not line.strip() or is_elision(line):
            continue
        stripped = line.strip()
        if _BORDER_RE.match(stripped):
            if pending is not None:
                raise ParseError('chip row has no second row', pending[1], pending[2])
            continue
        if not stripped.startswith('|'):
            raise ParseError('not part of the npu-smi table', line, lineno)

        cells = _cells(line)
        joined = ' '.join(cells[0].split())

        if len(cells) == 1:
            match = _VERSION_RE.match(joined)
            if match:
                npu_smi_version, version = match.group(1), match.group(2)
                continue
            match = _NO_PROCS_RE.match(joined)
            if match and proc_fields is not None:
                section = 'procs'
                continue
            raise ParseError('unexpected single-cell row', line, lineno)

        if len(cells) >= 2 and cells[1] == 'Health' and joined.startswith('NPU'):
            if joined != 'NPU Name':
                raise ParseError('unexpected first header cell %r' % joined, line, lineno)
            if len(cells) != 3:
                raise ParseError('expected 3 header cells', line, lineno)
            words = cells[2].split()
            header_row1 = (_header_fields(words, _ROW1_FIELDS, line, lineno), words)
            continue
        if len(cells) >= 2 and cells[1] == 'Bus-Id':
            if header_row1 is None or len(cells) != 3:
                raise ParseError('chip table header row 2 without row 1', line, lineno)
            id_words = cells[0].split()
            if not id_words or id_words[0] != 'Chip':
                raise ParseError('unexpected first header cell %r' % cells[0], line, lineno)
            words = cells[2].split()
            layout = {
                'row1': header_row1[0], 'row1_words': header_row1[1],
                'ids': _header_fields(id_words, _ROW2_ID_FIELDS, line, lineno), 'ids_words': id_words,
                'row2': _header_fields(words, _ROW2_FIELDS, line, lineno), 'row2_words': words,
            }
            section = 'chips'
            continue
        if len(cells) >= 2 and cells[1] == 'Process id':
            names = [' '.join(cell.split()) for cell in cells]
            proc_fields = []
            for name in names:
                if name not in _PROC_FIELDS:
                    raise ParseError('unknown column %r in the process table header' % name, line, lineno)
                proc_fields.append(_PROC_FIELDS[name])
            if 'ids' not in proc_fields or 'pid' not in proc_fields:
                raise ParseError('process table header lacks NPU/Chip or Process id', line, lineno)
            if pending is not None:
                raise ParseError('chip row has no second row', pending[1], pending[2])
            section = 'procs'
            continue

        if section == 'chips':
            if pending is None:
                pending = (cells, line, lineno)
            else:
                chips.append(_chip_from_rows(pending, (cells, line, lineno), layout))
                pending = None
            continue
        if section == 'procs':
            processes.append(_process_from_row(cells, line, lineno, proc_fields))
            continue
        raise ParseError('table row before any npu-smi table header', line, lineno)

    if pending is not None:
        raise ParseError('output ends inside a chip entry', pending[1], pending[2])
    if layout is None:
        raise ParseError('no chip table header ("NPU  Name | Health | ...") in the npu-smi output')

    npu_ids = set(chip['npu_id'] for chip in chips)
    return {
        'npu_smi_version': npu_smi_version,
        'version': version,
        'product': classify_product(chips),
        'npu_count': len(npu_ids),
        'chip_count': len(chips),
        'healthy': bool(chips) and all(chip['health'] == 'OK' for chip in chips),
        'chips': chips,
        'processes': processes,
    }


# --------------------------------------------------------------------------
# "key : value" reports (-l, -t board, -t usages, -t health, ...)
# --------------------------------------------------------------------------

def _key_value_lines(text):
    """Yield ``(lineno, line, key, value)`` per line, ``None`` for blank lines.

    ``key`` is '' for a continuation line (``<spaces> : more text``).  A line
    without a colon raises ParseError: it is a message, not a report
    (``Invalid card id.``).
    """
    if not text or not text.strip():
        raise ParseError('npu-smi printed nothing')
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip():
            yield None
            continue
        if is_elision(line):
            continue
        key, sep, value = line.partition(':')
        if not sep:
            raise ParseError('expected "key : value"', line, lineno)
        yield lineno, line, key.strip(), value.strip()


def parse_key_value_sections(text):
    """Parse a ``key : value`` report into a list of sections.

    Sections are separated by blank lines (``-t usages`` prints the NPU part,
    then the chip part).  Keys are snake_cased (``'HBM Capacity(MB)'`` ->
    ``'hbm_capacity_mb'``), values kept as strings.  A continuation line
    (empty key) extends the previous key's value with a newline, even across
    a blank line.
    """
    sections = []
    current = {}
    last_section = last_name = None
    for item in _key_value_lines(text):
        if item is None:
            if current:
                sections.append(current)
                current = {}
            continue
        lineno, line, key, value = item
        if not key:
            if last_section is None:
                raise ParseError('continuation line without a preceding key', line, lineno)
            previous = last_section[last_name]
            last_section[last_name] = (previous + '\n' + value) if previous else value
            continue
        name = _snake(key)
        if name in current:
            raise ParseError('key %r appears twice in one section' % key, line, lineno)
        current[name] = value
        last_section, last_name = current, name
    if current:
        sections.append(current)
    return sections


def parse_board(text):
    """Parse ``npu-smi info -t board -i N [-c C]`` into one flat dict.

    Keys are snake_cased (``'Firmware Version'`` -> ``'firmware_version'``,
    ``'PCIe Bus Info'`` -> ``'pcie_bus_info'``), values are the printed
    strings.  An error message instead of a report (``Invalid card id.``)
    raises ParseError carrying that line.
    """
    board = {}
    for section in parse_key_value_sections(text):
        for key, value in section.items():
            if key in board and board[key] != value:
                raise ParseError('key %r has two different values: %r and %r' % (key, board[key], value))
            board[key] = value
    return board


def parse_health(text):
    """Parse ``npu-smi info -t health -i N -c C``.

    Returns ``{'health': 'OK', 'error_codes': [...], 'error_information': [...]}``;
    ``NA`` becomes an empty list, each continuation line of
    ``Error Information`` one list item.
    """
    health = None
    codes = []
    info = []
    last = None
    for item in _key_value_lines(text):
        if item is None:
            continue
        lineno, line, key, value = item
        name = _snake(key) if key else last
        if name is None:
            raise ParseError('continuation line without a preceding key', line, lineno)
        if name == 'health_status':
            health = value
        elif name == 'error_code':
            codes.extend(token for token in value.split() if token not in _MISSING)
        elif name == 'error_information':
            if value not in _MISSING and value:
                info.append(value)
        else:
            raise ParseError('unexpected key %r in a health report' % key, line, lineno)
        last = name
    if health is None:
        raise ParseError('no "Health Status" line in the health report')
    return {'health': health, 'error_codes': codes, 'error_information': info}


def parse_info_list(text):
    """Parse ``npu-smi info -l``.

    Returns ``{'total_count': 8, 'npus': [{'npu_id': 0, 'chip_count': 1}, ...]}``;
    keys other than these two are kept (snake_cased, string values) in the
    NPU's dict.  Raises ParseError when ``Total Count`` disagrees with the
    number of NPU entries.
    """
    total = None
    npus = []
    for item in _key_value_lines(text):
        if item is None:
            continue
        lineno, line, key, value = item
        name = _snake(key)
        if name == 'total_count':
            total = _int(value, 'Total Count', line, lineno)
        elif name == 'npu_id':
            npus.append({'npu_id': _int(value, 'NPU ID', line, lineno), 'chip_count': None})
        elif not npus:
            raise ParseError('%r before the first "NPU ID"' % key, line, lineno)
        elif name == 'chip_count':
            npus[-1]['chip_count'] = _int(value, 'Chip Count', line, lineno)
        else:
            npus[-1][name] = value
    if total is None:
        raise ParseError('no "Total Count" line in the npu-smi info -l output')
    if total != len(npus):
        raise ParseError('Total Count is %d but %d NPU entries are listed' % (total, len(npus)))
    return {'total_count': total, 'npus': npus}


_MAPPING_FIELDS = {
    'NPU ID': 'npu_id',
    'Chip ID': 'chip_id',
    'Chip Logic ID': 'logic_id',
    'Chip Phy-ID': 'phy_id',
    'Chip Phy ID': 'phy_id',
    'Chip Name': 'name',
}
_MAPPING_INTS = frozenset(['npu_id', 'chip_id', 'logic_id', 'phy_id'])


def parse_info_mapping(text):
    """Parse ``npu-smi info -m`` (NPU id / chip id / logic id / name table).

    Returns a list of ``{'npu_id', 'chip_id', 'logic_id', 'phy_id', 'name'}``.
    ``logic_id`` is None for pseudo-chips such as the ``Mcu`` row of newer
    drivers (printed ``-``); ``phy_id`` is None unless the table has a Phy-ID
    column.  Columns are separated by tabs or runs of two or more spaces.
    """
    if not text or not text.strip():
        raise ParseError('npu-smi printed nothing')
    fields = None
    rows = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip() or is_elision(line):
            continue
        cells = re.split(r'\t+|\s{2,}', line.strip())
        if fields is None:
            fields = []
            for cell in cells:
                if cell not in _MAPPING_FIELDS:
                    raise ParseError('expected the "NPU ID  Chip ID  Chip Logic ID  Chip Name" header, found %r'
                                     % cell, line, lineno)
                fields.append(_MAPPING_FIELDS[cell])
            if 'npu_id' not in fields or 'chip_id' not in fields:
                raise ParseError('mapping header lacks NPU ID or Chip ID', line, lineno)
            continue
        if len(cells) != len(fields):
            raise ParseError('expected %d columns, found %d' % (len(fields), len(cells)), line, lineno)
        row = {'npu_id': None, 'chip_id': None, 'logic_id': None, 'phy_id': None, 'name': None}
        for field, cell in zip(fields, cells):
            if field in _MAPPING_INTS:
                row[field] = _int(cell, field, line, lineno)
            else:
                row[field] = cell
        if row['npu_id'] is None or row['chip_id'] is None:
            raise ParseError('NPU ID and Chip ID must be numbers', line, lineno)
        rows.append(row)
    if fields is None:
        raise ParseError('no header in the npu-smi info -m output')
    return rows


def parse_topo(text):
    """Parse ``npu-smi info -t topo``.

    Returns ``{'npus': ['NPU0', ...], 'links': {'NPU0': {'NPU1': 'HCCS', ...}},
    'cpu_affinity': {'NPU0': '144-167', ...}}``; the link to itself (``X``)
    is left out.  The legend after ``Legend:`` is ignored.
    """
    if not text or not text.strip():
        raise ParseError('npu-smi printed nothing')
    header = None
    has_affinity = False
    links = {}
    affinity = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip() or is_elision(line):
            continue
        words = line.split()
        if words[0] == 'Legend:':
            break
        if header is None:
            if words[-2:] == ['CPU', 'Affinity']:
                has_affinity = True
                words = words[:-2]
            if not words or not all(re.match(r'^NPU\d+$', word) for word in words):
                raise ParseError('expected the "NPU0 NPU1 ... CPU Affinity" header', line, lineno)
            header = words
            continue
        expected = 1 + len(header) + (1 if has_affinity else 0)
        if not re.match(r'^NPU\d+$', words[0]) or len(words) != expected:
            raise ParseError('expected "%s" followed by %d columns' % ('NPUn', expected - 1), line, lineno)
        name = words[0]
        links[name] = dict((peer, kind) for peer, kind in zip(header, words[1:1 + len(header)])
                           if peer != name)
        if has_affinity:
            affinity[name] = words[-1]
    if header is None:
        raise ParseError('no header in the npu-smi info -t topo output')
    return {'npus': header, 'links': links, 'cpu_affinity': affinity}
