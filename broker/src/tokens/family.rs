//! Logins (refresh-token families): starting one with its first tokens, and minting an access
//! token within a live one (a token exchange of the login's own `id_token`). A family's record
//! carries the upstream identity sealed ([`seal`]); every access token of a family ends with it.

use tessera_shared::crypto::random_string;
use tessera_shared::error::StoreError;
use tessera_shared::model::{App, FamilyRecord, GrantType, Identity, Sensitive};
use tessera_shared::scope::ScopeSet;
use tessera_shared::time::now;
use tessera_shared::token::TokenKind;

use super::{app_attributes, seal, upstream_logins, Minted, Tokens};

/// A grant on behalf of a user who logged in upstream.
#[derive(Debug)]
pub struct UserGrant<'a> {
    pub app: &'a App,
    pub client_id: &'a str,
    pub grant: GrantType,
    pub scope: ScopeSet,
    pub identity: Identity,
    /// Issue a refresh token too.
    pub refresh: bool,
    /// The DPoP key of the request (RFC 9449): the access token is bound to it, and so is a
    /// public client's refresh token (§5).
    pub jkt: Option<String>,
}

/// What a user grant or a refresh hands out.
#[derive(Debug)]
pub struct Issued {
    pub access: Minted,
    pub refresh_token: Option<Sensitive>,
    pub family: String,
    pub identity: Identity,
}

impl Tokens {
    /// A new family id (also what a code redemption claims the code for).
    pub fn new_family_id() -> String {
        random_string::<16>()
    }

    /// Starts a login's family under `family` and mints its first tokens.
    pub async fn start_family(
        &self,
        g: UserGrant<'_>,
        family: String,
    ) -> Result<Issued, StoreError> {
        let at = now();
        let ttl = self.life.refresh_secs;
        let scope = g.scope.intersection(&g.app.effective_scopes());
        let mut identity = g.identity.clone();
        seal(&self.keys, &mut identity);
        let record = FamilyRecord {
            client_id: g.client_id.to_string(),
            app_id: g.app.id,
            developer_id: g.app.developer_id,
            app_generation: g.app.generation,
            grant: g.grant,
            scope: scope.clone(),
            identity,
            created_at: at,
            expires_at: at.saturating_add(ttl as i64),
            // §5: only a public client's refresh token is bound; a confidential client
            // authenticates when it refreshes.
            jkt: g.jkt.clone().filter(|_| g.app.public),
        };
        let refresh = g.refresh.then(|| self.keys.mint(TokenKind::RefreshToken));
        let refresh_hash = refresh.as_deref().map(|t| self.keys.token_hash(t));
        let store = self.store();
        if let Some(h) = &refresh_hash {
            let live = self.refresh_ttl(g.app, ttl);
            store
                .token_put(TokenKind::RefreshToken, h, &family, live)
                .await?;
        }
        store
            .family_put(
                &family,
                &serde_json::to_string(&record)?,
                refresh_hash.as_deref(),
                ttl,
            )
            .await?;
        let app_id = g.app.id.to_string();
        store
            .user_family_add(&app_id, &g.identity.sub, &family, ttl)
            .await?;
        self.index_upstream(&g.identity, &family, ttl).await?;
        let access = (self.mint_for_family(g.app, &record, scope, &family, g.jkt)).await?;
        Ok(Issued {
            access,
            refresh_token: refresh.map(Sensitive),
            family,
            identity: g.identity,
        })
    }

    pub(super) async fn mint_for_family(
        &self,
        app: &App,
        fam: &FamilyRecord,
        scope: ScopeSet,
        family: &str,
        jkt: Option<String>,
    ) -> Result<Minted, StoreError> {
        let attributes = upstream_logins::user_attributes(app_attributes(app), &fam.identity);
        // An access token never outlives its login.
        let left = (fam.expires_at - now()).max(1) as u64;
        self.mint_access(
            app,
            &fam.client_id,
            fam.grant,
            scope,
            Some(fam.identity.sub.clone()),
            attributes,
            Some(family.to_string()),
            self.life.access_secs.min(left),
            jkt,
        )
        .await
    }

    /// Mints an access token for the live login `family` of `app` (a token exchange of the
    /// login's own id_token), with `scope` within the login's. `None` when the login is
    /// unknown, revoked, another app's, or the scope exceeds it.
    pub async fn mint_in_family(
        &self,
        app: &App,
        family: &str,
        scope: Option<ScopeSet>,
        jkt: Option<String>,
    ) -> Result<Option<Issued>, StoreError> {
        let Some(state) = self.store().family_get(family).await? else {
            return Ok(None);
        };
        let fam: FamilyRecord = serde_json::from_str(&state.record)?;
        // Scopes follow the app: the login's scope as the app holds it now.
        let scope = scope
            .unwrap_or_else(|| fam.scope.clone())
            .intersection(&app.effective_scopes());
        if state.revoked
            || fam.app_id != app.id
            || fam.expires_at <= now()
            || !scope.is_subset(&fam.scope)
            || !app.honours(&fam.client_id, fam.app_generation, now())
        {
            return Ok(None);
        }
        let mut fam = fam;
        fam.grant = GrantType::TokenExchange;
        let access = self.mint_for_family(app, &fam, scope, family, jkt).await?;
        Ok(Some(Issued {
            access,
            refresh_token: None,
            family: family.to_string(),
            identity: fam.identity,
        }))
    }
}
