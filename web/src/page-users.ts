/** Users & Roles: accounts, their permissions and roles, and the roles' permissions. */
import { api, query, type Page } from './api.js';
import { append, h, replace } from './dom.js';
import { busy, errorBox, field, input } from './forms.js';
import { go, heading, pager } from './shell.js';
import { PERMISSIONS, type Permission, type Role, type UserDetail } from './types.js';

/** Users are read a page at a time (each with its detail: permissions and roles), More adds one. */
const USERS_PAGE = 100;

async function usersPage(cursor?: string): Promise<{ users: UserDetail[]; next: string | null }> {
  const page = await api<Page<{ id: string }>>(
    'GET',
    `/users${query({ limit: USERS_PAGE, cursor })}`,
  );
  const users = await Promise.all(
    page.items.map((u) => api<UserDetail>('GET', `/users/${encodeURIComponent(u.id)}`)),
  );
  return { users, next: page.nextCursor };
}

async function allPages<T>(path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<T> = await api<Page<T>>(
      'GET',
      `${path}?limit=200${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
    );
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null && items.length < 2000);
  return items;
}

/**
 * A permission checkbox that grants or removes at once; the box says what failed. `after` runs
 * once the change is made (to show what the subject holds now).
 */
function grantBox(
  box: HTMLElement,
  base: string,
  permission: Permission,
  granted: boolean,
  label: string,
  after?: () => Promise<void>,
): HTMLInputElement {
  const check = h('input', {
    type: 'checkbox',
    checked: granted,
    'aria-label': label,
    'data-permission': permission,
  });
  check.addEventListener('change', () => {
    const want = check.checked;
    check.disabled = true;
    void busy(box, null, async () => {
      try {
        await api(want ? 'PUT' : 'DELETE', `${base}/permissions/${permission}`);
      } catch (error) {
        check.checked = !want;
        throw error;
      }
      await after?.();
    }).finally(() => (check.disabled = false));
  });
  return check;
}

export async function usersAndRoles(): Promise<HTMLElement> {
  const [first, roles] = await Promise.all([usersPage(), allPages<Role>('/roles')]);
  const roleNames = new Map(roles.map((r) => [r.id, r.name]));

  const usersCard = h('div', { class: 'card users' });
  /** Each shown user's current roles, and how to read again what they hold (after a change). */
  const shownUsers: { roleIds: () => string[]; refresh: () => Promise<void> }[] = [];
  const userRow = (user: UserDetail) => {
    const base = `/users/${encodeURIComponent(user.id)}`;
    // "(role)" beside a box that is not checked: the user holds that permission through a role
    // all the same (unchecking a direct grant does not take it away then).
    const marks = new Map(
      PERMISSIONS.map((p) => [p, h('small', { class: 'muted', title: 'through a role' })]),
    );
    const drawMarks = (detail: UserDetail) => {
      for (const [p, mark] of marks) {
        const viaRole =
          !detail.admin &&
          !detail.permissions.includes(p) &&
          detail.effectivePermissions.includes(p);
        mark.textContent = viaRole ? ' (role)' : '';
      }
    };
    const refresh = async () => drawMarks(await api<UserDetail>('GET', base));
    let currentRoles = user.roleIds;
    shownUsers.push({ roleIds: () => currentRoles, refresh });
    const roleCell = h('td', { class: 'roles' });
    const drawRoles = (ids: string[]) => {
      currentRoles = ids;
      const add = h(
        'select',
        { 'aria-label': `Give ${user.email} a role` },
        h('option', { value: '' }, 'add a role…'),
        roles.filter((r) => !ids.includes(r.id)).map((r) => h('option', { value: r.id }, r.name)),
      );
      add.addEventListener('change', () => {
        const roleId = add.value;
        if (roleId === '') return;
        void busy(usersCard, null, async () => {
          await api('PUT', `${base}/roles/${encodeURIComponent(roleId)}`);
          ids = [...ids, roleId];
          drawRoles(ids);
          await refresh();
        });
      });
      replace(
        roleCell,
        ids.map((roleId) =>
          h(
            'span',
            { class: 'chip' },
            roleNames.get(roleId) ?? roleId,
            ' ',
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                'aria-label': `Take role ${roleNames.get(roleId) ?? roleId} from ${user.email}`,
                onclick: () =>
                  void busy(usersCard, null, async () => {
                    await api('DELETE', `${base}/roles/${encodeURIComponent(roleId)}`);
                    ids = ids.filter((i) => i !== roleId);
                    drawRoles(ids);
                    await refresh();
                  }),
              },
              '×',
            ),
          ),
        ),
        roles.length === 0 ? null : add,
      );
    };
    drawRoles(user.roleIds);
    drawMarks(user);
    const disabled = h('input', {
      type: 'checkbox',
      checked: user.disabled,
      'aria-label': `${user.email} disabled`,
    });
    disabled.addEventListener('change', () => {
      const want = disabled.checked;
      disabled.disabled = true;
      void busy(usersCard, null, async () => {
        try {
          await api('PATCH', base, { disabled: want });
        } catch (error) {
          // Refused (your own account, an admin's without being one): the box shows what holds.
          disabled.checked = !want;
          throw error;
        }
      }).finally(() => (disabled.disabled = false));
    });
    return h(
      'tr',
      { 'data-user': user.email },
      h('td', {}, user.email, h('br'), h('small', { class: 'muted' }, user.name)),
      h('td', {}, user.admin ? 'admin' : ''),
      PERMISSIONS.map((p) =>
        h(
          'td',
          {},
          grantBox(
            usersCard,
            base,
            p,
            user.permissions.includes(p),
            `${p} for ${user.email}`,
            refresh,
          ),
          marks.get(p)!,
        ),
      ),
      roleCell,
      h('td', {}, disabled),
    );
  };
  const userRows = h('tbody', {}, first.users.map(userRow));
  usersCard.append(
    h('h2', {}, 'Users'),
    h(
      'p',
      { class: 'muted' },
      'A box grants a permission to the user directly (an admin has them all); roles add theirs. Changes hold from the next request.',
    ),
    errorBox(),
    h(
      'table',
      { class: 'perm-grid' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['User', 'Admin', ...PERMISSIONS, 'Roles', 'Disabled'].map((t) => h('th', {}, t)),
        ),
      ),
      userRows,
    ),
    pager(async (cursor) => {
      const next = await usersPage(cursor);
      append(userRows, next.users.map(userRow));
      return next.next;
    }, first.next),
    newUserForm(),
  );

  const rolesCard = h('div', { class: 'card roles' });
  const roleRows = roles.map((role) => {
    const base = `/roles/${encodeURIComponent(role.id)}`;
    return h(
      'tr',
      { 'data-role': role.name },
      h('td', {}, role.name, h('br'), h('small', { class: 'muted' }, role.description)),
      PERMISSIONS.map((p) =>
        h(
          'td',
          {},
          grantBox(
            rolesCard,
            base,
            p,
            role.permissions.includes(p),
            `${p} for role ${role.name}`,
            // The role's users shown above hold it, or not, through the role now.
            async () => {
              await Promise.all(
                shownUsers.filter((u) => u.roleIds().includes(role.id)).map((u) => u.refresh()),
              );
            },
          ),
        ),
      ),
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            onclick: () => {
              if (!window.confirm(`Delete the role "${role.name}"?`)) return;
              void busy(rolesCard, null, async () => {
                await api('DELETE', base);
                go(`/users?deleted=${Date.now()}`);
              });
            },
          },
          'Delete',
        ),
      ),
    );
  });
  rolesCard.append(
    h('h2', {}, 'Roles'),
    errorBox(),
    roles.length === 0
      ? h('p', { class: 'muted' }, 'No role yet.')
      : h(
          'table',
          { class: 'perm-grid' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Role', ...PERMISSIONS, ''].map((t) => h('th', {}, t)),
            ),
          ),
          h('tbody', {}, roleRows),
        ),
    newRoleForm(),
  );
  return h('section', {}, heading('Users & Roles'), usersCard, rolesCard);
}

function newUserForm(): HTMLElement {
  const form = h('form', { class: 'new-user', novalidate: true });
  const create = h('button', { type: 'submit' }, 'Create user');
  form.append(
    h('h3', {}, 'New user'),
    errorBox(),
    h(
      'div',
      { class: 'grid' },
      field('Email', input('email', '', { type: 'email', autocomplete: 'off' }), 'email'),
      field('Name', input('name'), 'name'),
      field(
        'Password',
        input('password', '', { type: 'password', autocomplete: 'new-password' }),
        'password',
      ),
      field('Admin', h('input', { type: 'checkbox', name: 'admin' }), 'admin'),
    ),
    h('div', { class: 'actions' }, create),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(form, create, async () => {
      const data = new FormData(form);
      await api('POST', '/users', {
        email: String(data.get('email') ?? ''),
        name: String(data.get('name') ?? ''),
        password: String(data.get('password') ?? ''),
        admin: data.get('admin') !== null,
      });
      go(`/users?created=${Date.now()}`);
    });
  });
  return form;
}

function newRoleForm(): HTMLElement {
  const form = h('form', { class: 'new-role', novalidate: true });
  const create = h('button', { type: 'submit' }, 'Create role');
  form.append(
    h('h3', {}, 'New role'),
    errorBox(),
    h(
      'div',
      { class: 'grid' },
      field('Name', input('name'), 'name'),
      field('Description', input('description'), 'description'),
    ),
    h('div', { class: 'actions' }, create),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(form, create, async () => {
      const data = new FormData(form);
      await api('POST', '/roles', {
        name: String(data.get('name') ?? ''),
        description: String(data.get('description') ?? ''),
      });
      go(`/users?created=${Date.now()}`);
    });
  });
  return form;
}
