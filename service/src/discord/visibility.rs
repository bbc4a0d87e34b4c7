//! Which guild channels @everyone can view (pure; no I/O).
//!
//! Discord's rule for the @everyone role (whose id is the guild id): start from the role's
//! permissions; ADMINISTRATOR grants everything; otherwise apply the channel's @everyone
//! overwrite (remove `deny`, then add `allow`) and look at VIEW_CHANNEL. Overwrites for other
//! roles and members do not matter for what the public can see.

use twilight_model::{
    channel::{Channel, ChannelType, permission_overwrite::PermissionOverwriteType},
    guild::{Permissions, Role},
    id::{Id, marker::GuildMarker},
};

/// Whether @everyone (with `everyone` role permissions) can view `channel`.
pub fn everyone_can_view(guild: Id<GuildMarker>, everyone: Permissions, channel: &Channel) -> bool {
    if everyone.contains(Permissions::ADMINISTRATOR) {
        return true;
    }
    let mut permissions = everyone;
    if let Some(overwrite) = channel
        .permission_overwrites
        .iter()
        .flatten()
        .find(|o| o.id.get() == guild.get() && matches!(o.kind, PermissionOverwriteType::Role))
    {
        permissions = (permissions & !overwrite.deny) | overwrite.allow;
    }
    permissions.contains(Permissions::VIEW_CHANNEL)
}

/// The guild channels that are archived: text, announcement, forum and category channels
/// visible to @everyone. Voice, stage, media and unknown kinds are never archived. With no
/// @everyone role in `roles`, nothing is visible.
pub fn visible_channels<'a>(
    guild: Id<GuildMarker>,
    roles: &[Role],
    channels: &'a [Channel],
) -> Vec<&'a Channel> {
    let Some(everyone) = roles.iter().find(|r| r.id.get() == guild.get()) else {
        return Vec::new();
    };
    channels
        .iter()
        .filter(|c| {
            matches!(
                c.kind,
                ChannelType::GuildText
                    | ChannelType::GuildAnnouncement
                    | ChannelType::GuildForum
                    | ChannelType::GuildCategory
            )
        })
        .filter(|c| everyone_can_view(guild, everyone.permissions, c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GUILD: u64 = 1000;

    fn role(id: u64, permissions: u64) -> Role {
        serde_json::from_value(json!({
            "id": id.to_string(), "name": "r", "color": 0, "hoist": false, "managed": false,
            "mentionable": false, "permissions": permissions.to_string(), "position": 0,
            "flags": 0, "colors": {"primary_color": 0}
        }))
        .unwrap_or_else(|e| panic!("role fixture: {e}"))
    }

    fn channel(id: u64, kind: u8, overwrites: serde_json::Value) -> Channel {
        serde_json::from_value(json!({
            "id": id.to_string(), "type": kind, "guild_id": GUILD.to_string(), "name": "c",
            "position": 0, "permission_overwrites": overwrites
        }))
        .unwrap_or_else(|e| panic!("channel fixture: {e}"))
    }

    fn everyone_overwrite(allow: u64, deny: u64) -> serde_json::Value {
        json!([{"id": GUILD.to_string(), "type": 0, "allow": allow.to_string(), "deny": deny.to_string()}])
    }

    const VIEW: u64 = 1 << 10;

    fn ids(visible: &[&Channel]) -> Vec<u64> {
        visible.iter().map(|c| c.id.get()).collect()
    }

    #[test]
    fn archived_kinds_visible_to_everyone_are_kept_and_voice_is_dropped() {
        let roles = [role(GUILD, VIEW)];
        let channels = [
            channel(1, 0, json!([])),
            channel(2, 5, json!([])),
            channel(3, 15, json!([])),
            channel(4, 4, json!([])),
            channel(5, 2, json!([])),
            channel(6, 13, json!([])),
            channel(7, 16, json!([])),
        ];
        assert_eq!(
            ids(&visible_channels(Id::new(GUILD), &roles, &channels)),
            vec![1, 2, 3, 4]
        );
    }

    #[test]
    fn everyone_overwrite_deny_hides_and_allow_shows() {
        let roles = [role(GUILD, VIEW)];
        let hidden = channel(1, 0, everyone_overwrite(0, VIEW));
        let other_role_deny = channel(
            2,
            0,
            json!([{"id": "77", "type": 0, "allow": "0", "deny": VIEW.to_string()}]),
        );
        assert!(!everyone_can_view(
            Id::new(GUILD),
            roles[0].permissions,
            &hidden
        ));
        assert!(everyone_can_view(
            Id::new(GUILD),
            roles[0].permissions,
            &other_role_deny
        ));

        let no_view = role(GUILD, 0).permissions;
        let shown = channel(3, 0, everyone_overwrite(VIEW, 0));
        assert!(everyone_can_view(Id::new(GUILD), no_view, &shown));
        assert!(!everyone_can_view(
            Id::new(GUILD),
            no_view,
            &channel(4, 0, json!([]))
        ));
    }

    #[test]
    fn member_overwrite_with_the_guild_id_is_not_the_everyone_role() {
        let perms = role(GUILD, VIEW).permissions;
        let member = channel(
            1,
            0,
            json!([{"id": GUILD.to_string(), "type": 1, "allow": "0", "deny": VIEW.to_string()}]),
        );
        assert!(everyone_can_view(Id::new(GUILD), perms, &member));
    }

    #[test]
    fn administrator_sees_everything_and_missing_everyone_role_sees_nothing() {
        let admin = role(GUILD, 1 << 3).permissions;
        let hidden = channel(1, 0, everyone_overwrite(0, VIEW));
        assert!(everyone_can_view(Id::new(GUILD), admin, &hidden));
        let channels = [channel(2, 0, json!([]))];
        assert!(visible_channels(Id::new(GUILD), &[role(5, VIEW)], &channels).is_empty());
    }
}
